"""The main list queries are served by indexes, so that they cost the same in a database of
one school as in one of a hundred (issue 13's scale). On PostgreSQL, with sequential scans
priced out (``enable_seqscan = off``), EXPLAIN of each query must not read any of the large
tables whole, by a sequential scan or by walking an index without a condition: a plan that
still does has no index to narrow it. Small tables (schools, terms, windows, courses'
teachers) may be scanned."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Notice, Role
from accounts.notices import unread_count
from certification.services import queue_items
from records.access import students_visible_to
from submissions.models import CourseOutcome, Performance
from tests.builders.certification import CertWorld
from tests.builders.people import acting

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="EXPLAIN's plans are PostgreSQL's"
)

LARGE = [
    "submissions_courseoutcome",
    "submissions_performance",
    "records_student",
    "records_courseenrolment",
    "accounts_notice",
    "portfolio_auditlog",
    "submissions_storedfile",
]


def plan(queryset) -> dict:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        return cursor.fetchone()[0][0]["Plan"]


def _nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def whole_scans(queryset) -> list[str]:
    """The plan's reads of a large table that no index condition narrows: a sequential scan,
    or an index walked whole (what the planner does with sequential scans priced out)."""
    found = []
    for node in _nodes(plan(queryset)):
        table = node.get("Relation Name")
        if table not in LARGE:
            continue
        kind = node["Node Type"]
        if kind == "Seq Scan" or (
            kind in ("Index Scan", "Index Only Scan") and "Index Cond" not in node
        ):
            found.append(f"{kind} on {table} ({node.get('Index Name', '')})")
    return found


@pytest.fixture
def w(school, make_member, storage_dir):
    return CertWorld(school, make_member)


def test_the_students_home_counts(w):
    student, term = w.student, w.term1
    assert whole_scans(CourseOutcome.objects.counting_toward_cap(student, term)) == []
    assert whole_scans(Performance.objects.counting_toward_cap(student, term.school_year_id)) == []


def test_the_teachers_queue(w):
    now = w.now
    assert whole_scans(queue_items(acting(w.teacher), now=now)) == []


def test_the_unread_notices_and_the_notices_page(w, make_member):
    member = make_member(w.school, Role.STUDENT)
    queryset = Notice.objects.for_user(member.user, w.school)
    assert whole_scans(queryset.unread()) == []
    assert whole_scans(queryset.order_by("-created_at", "-pk")[:30]) == []
    assert unread_count(member.user, w.school) == 0


def test_an_offices_student_list(w, make_member):
    registry = acting(make_member(w.school, Role.REGISTRY))
    assert whole_scans(students_visible_to(registry).order_by("school_class__name")[:50]) == []


def test_the_students_portfolio(w):
    outcomes = CourseOutcome.objects.filter(student=w.student, school_id=w.school.pk)
    assert whole_scans(outcomes.order_by("-created_at", "-id")) == []
    since = timezone.now() - dt.timedelta(days=14)
    assert whole_scans(outcomes.filter(updated_at__gte=since)) == []


def test_the_check_sees_a_whole_scan(w):
    """The control: a filter on a column no index serves is a whole scan."""
    from records.models import Student

    assert whole_scans(Student.objects.filter(seat_number=3)) != []
