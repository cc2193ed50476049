"""The homeroom teacher's class at a glance: each student's outcomes of the term by state,
performances and selection of the year, open correction requests; only the teacher's own
classes (or their principal's, for a deputy); sortable; the same rows as xlsx; and the same
number of queries for a class of 3 or of 40."""

import datetime as dt
import io
import itertools

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import Role
from portfolio import services as portfolio_services
from portfolio.models import Term
from records.models import (
    CorrectionRequest,
    CorrectionStatus,
    Course,
    CourseEnrolment,
    StudentStatus,
)
from submissions.models import (
    CourseOutcome,
    OutcomeState,
    Performance,
    PerformanceSource,
    PerformanceState,
    Selection,
    StoredFile,
)
from tests.builders.people import client_for, deputy_client, english
from tests.builders.records import make_class, make_students

MATRIX = "homeroom:matrix"
EXPORT = "homeroom:export"
# What the page and its export cost however large the class: the session, the user, the
# acting membership and the school's two-factor policy (4); the teacher's classes and the
# class's terms (2); the students, then their outcomes, performances, selections and open
# corrections, each read once grouped by student (5); the page's count of unread notices in
# the header (1).
QUERY_BOUND = 12
_keys = itertools.count(1)


# --- Builders ----------------------------------------------------------------------------


@pytest.fixture
def terms(school, current_roc_year):
    return list(
        Term.objects.filter(school=school, school_year__roc_year=current_roc_year)
        .select_related("school_year")
        .order_by("number")
    )


@pytest.fixture
def hannah(school, make_member):
    return make_member(school, Role.HOMEROOM, username="hannah")


@pytest.fixture
def her_class(school, terms, hannah):
    return make_class(school, terms[0].school_year, "101", homeroom=hannah.user)


def stored(student) -> StoredFile:
    return StoredFile(
        school=student.school,
        student=student,
        storage_key=f"{next(_keys):032x}.pdf",
        display_name="成果.pdf",
        extension="pdf",
        mime="application/pdf",
        size=1,
        sha256="0" * 64,
    )


def course_of(term) -> Course:
    n = next(_keys) % 100
    return Course.objects.create(
        school=term.school,
        term=term,
        code=f"{term.school_year.roc_year}123456H11101010101{term.number}{n:02d}"[:23],
        name=f"物理{term.number}-{n}",
        grade=10,
        credits=2,
    )


def give_outcomes(term, student_states, course=None):
    """Outcomes in the states given, per student: {student: [state, ...]} (bulk inserts)."""
    course = course or course_of(term)
    enrolments = CourseEnrolment.objects.bulk_create(
        CourseEnrolment(school=term.school, student=s, course=course) for s in student_states
    )
    files = StoredFile.objects.bulk_create(
        stored(s) for s, states in student_states.items() for _state in states
    )
    documents = iter(files)
    CourseOutcome.objects.bulk_create(
        CourseOutcome(
            school=term.school,
            student=student,
            enrolment=enrolment,
            title="成果",
            description="簡述",
            document=next(documents),
            state=state,
        )
        for enrolment, (student, states) in zip(enrolments, student_states.items(), strict=True)
        for state in states
    )


def give_performances(year, student, *states, source=PerformanceSource.STUDENT):
    Performance.objects.bulk_create(
        Performance(
            school=student.school,
            student=student,
            school_year=year,
            category="work",
            source=source,
            state=state,
            name="作品",
        )
        for state in states
    )


def give_correction(student, status=CorrectionStatus.OPEN):
    CorrectionRequest.objects.create(
        school=student.school,
        student=student,
        office=Role.REGISTRY,
        topic="生日",
        message="生日有誤",
        status=status,
    )


def last_year(school, current_roc_year):
    y = current_roc_year + 1910
    return portfolio_services.school_year_create(
        school=school,
        roc_year=current_roc_year - 1,
        terms=[
            {
                "number": 1,
                "starts_on": dt.date(y, 8, 30),
                "closing_day": dt.date(y + 1, 1, 20),
                "ends_on": dt.date(y + 1, 1, 31),
            }
        ],
        by=None,
    )


@pytest.fixture
def world(school, terms, her_class, current_roc_year, make_member):
    """Three students of 101: A with something of everything, B with a little, C with
    nothing; and what must not count (withdrawn, another term, another year, resolved,
    another class)."""
    year = terms[0].school_year
    a, b, c = make_students(school, her_class, 3)
    S = OutcomeState
    give_outcomes(
        terms[0],
        {
            a: [S.DRAFT, S.SUBMITTED, S.SUBMITTED, S.CERTIFIED, S.REJECTED, S.WITHDRAWN],
            b: [S.CERTIFIED],
        },
    )
    give_outcomes(terms[1], {a: [S.CERTIFIED, S.SUBMITTED]})  # another term
    P = PerformanceState
    give_performances(year, a, P.SAVED, P.SAVED, P.DRAFT, P.WITHDRAWN)
    give_performances(year, a, P.SAVED, source=PerformanceSource.SCHOOL)
    give_performances(last_year(school, current_roc_year), a, P.SAVED)  # another year
    give_performances(year, b, P.SAVED)
    Selection.objects.create(
        school=school, student=a, school_year=year, confirmed_at=timezone.now()
    )
    Selection.objects.create(school=school, student=b, school_year=year, saved_at=timezone.now())
    give_correction(a)
    give_correction(a, CorrectionStatus.RESOLVED)
    give_correction(b)
    give_correction(b)
    # A class next door, whose items must stay out of 101's figures.
    (other,) = make_students(school, make_class(school, year, "102"), 1, prefix="N")
    give_outcomes(terms[0], {other: [S.CERTIFIED]})
    give_performances(year, other, P.SAVED)
    give_correction(other)
    return {"a": a, "b": b, "c": c, "other": other}


def figures(row) -> tuple:
    return (
        row.uploaded,
        row.drafts,
        row.awaiting,
        row.certified,
        row.rejected,
        row.performances,
        row.selection_label,
        row.corrections,
    )


def sheet_rows(response) -> list[tuple]:
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    return list(book.worksheets[0].iter_rows(values_only=True))


# --- What the teacher sees -----------------------------------------------------------------


def test_the_teacher_sees_each_students_figures(hannah, world, terms):
    response = english(client_for(hannah)).get(reverse(MATRIX), {"term": terms[0].pk})
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [r.student for r in rows] == [world["a"], world["b"], world["c"]]
    assert figures(rows[0]) == (5, 1, 2, 1, 1, 4, "Confirmed", 1)
    assert figures(rows[1]) == (1, 0, 0, 1, 0, 1, "Not confirmed", 2)
    assert figures(rows[2]) == (0, 0, 0, 0, 0, 0, "—", 0)
    totals = response.context["totals"]
    assert (totals["uploaded"], totals["awaiting"], totals["performances"]) == (6, 2, 5)
    assert (totals["confirmed"], totals["corrections"]) == (1, 3)
    html = response.content.decode()
    assert world["a"].name in html and world["other"].name not in html
    assert 'class="table-wrap stack-on-phone"' in html
    assert 'data-label="Awaiting certification"' in html
    assert "3 students" in html and "1 confirmed" in html


def test_the_default_is_the_first_class_and_the_term_under_way(
    school, hannah, her_class, terms, make_member
):
    later = make_class(school, terms[0].school_year, "108", homeroom=hannah.user)
    response = client_for(hannah).get(reverse(MATRIX))
    matrix = response.context["matrix"]
    assert matrix.classes == [her_class, later]
    assert matrix.school_class == her_class
    today = timezone.localdate()
    expected = [t for t in terms if t.starts_on <= today][-1:] or terms[:1]
    assert [matrix.term] == expected
    response = client_for(hannah).get(reverse(MATRIX), {"school_class": later.pk})
    assert response.context["matrix"].school_class == later


def test_the_other_term_counts_its_own_outcomes(hannah, world, terms):
    response = client_for(hannah).get(reverse(MATRIX), {"term": terms[1].pk})
    a = response.context["rows"][0]
    assert (a.student, a.uploaded, a.certified, a.awaiting) == (world["a"], 2, 1, 1)
    assert a.performances == 4  # the same school year


def test_a_student_who_left_is_marked(school, hannah, her_class):
    (gone,) = make_students(school, her_class, 1)
    gone.status = StudentStatus.TRANSFERRED_OUT
    gone.save()
    html = english(client_for(hannah)).get(reverse(MATRIX)).content.decode()
    assert "Transferred out" in html


def test_a_teacher_without_a_class_is_told_so(school, make_member):
    member = make_member(school, Role.HOMEROOM)
    response = english(client_for(member)).get(reverse(MATRIX))
    assert response.status_code == 200
    assert "You are not the homeroom teacher of a class" in response.content.decode()
    assert client_for(member).get(reverse(EXPORT)).status_code == 404


def test_last_years_class_is_not_shown(school, hannah, current_roc_year):
    old = make_class(school, last_year(school, current_roc_year), "101", homeroom=hannah.user)
    make_students(school, old, 1, prefix="O")
    client = client_for(hannah)
    assert client.get(reverse(MATRIX), {"school_class": old.pk}).status_code == 404
    assert client.get(reverse(MATRIX)).context["matrix"].school_class is None


# --- Who may see it --------------------------------------------------------------------------


def test_a_colleague_gets_404_for_this_class_and_their_own_by_default(
    school, her_class, world, make_member, terms
):
    colleague = make_member(school, Role.HOMEROOM, username="colleague")
    theirs = make_class(school, terms[0].school_year, "103", homeroom=colleague.user)
    client = client_for(colleague)
    for url in (reverse(MATRIX), reverse(EXPORT)):
        assert client.get(url, {"school_class": her_class.pk}).status_code == 404
    response = client.get(reverse(MATRIX))
    assert response.context["matrix"].school_class == theirs
    assert world["a"].name not in response.content.decode()
    # Without a class of their own, still nothing of this one.
    lone = client_for(make_member(school, Role.HOMEROOM))
    assert lone.get(reverse(MATRIX), {"school_class": her_class.pk}).status_code == 404
    assert world["a"].name not in lone.get(reverse(MATRIX)).content.decode()


def test_another_schools_teacher_gets_404_or_their_own(
    her_class, world, other_school, make_member, current_roc_year
):
    member = make_member(other_school, Role.HOMEROOM)
    year = other_school.years.get(roc_year=current_roc_year)
    theirs = make_class(other_school, year, "101", homeroom=member.user)
    client = client_for(member)
    assert client.get(reverse(MATRIX), {"school_class": her_class.pk}).status_code == 404
    assert client.get(reverse(EXPORT), {"school_class": her_class.pk}).status_code == 404
    response = client.get(reverse(MATRIX))
    assert response.context["matrix"].school_class == theirs
    assert response.context["rows"] == []
    assert world["a"].name not in response.content.decode()


def test_a_term_of_another_school_is_404(hannah, world, other_school):
    their_term = Term.objects.filter(school=other_school).first()
    response = client_for(hannah).get(reverse(MATRIX), {"term": their_term.pk})
    assert response.status_code == 404


@pytest.mark.parametrize("role", [Role.STUDENT, Role.TEACHER, Role.REGISTRY, Role.CONSULTANT])
def test_other_roles_are_refused(school, make_member, world, role):
    client = client_for(make_member(school, role))
    assert client.get(reverse(MATRIX)).status_code == 403
    assert client.get(reverse(EXPORT)).status_code == 403


def test_a_student_of_the_class_is_refused(school, her_class, make_member):
    member = make_member(school, Role.STUDENT)
    (student,) = make_students(school, her_class, 1)
    student.user = member.user
    student.save()
    assert client_for(member).get(reverse(MATRIX)).status_code == 403


def test_a_deputy_sees_what_the_teacher_sees(school, make_member, terms):
    client, principal, _deputy = deputy_client(school, make_member, Role.HOMEROOM)
    klass = make_class(school, terms[0].school_year, "105", homeroom=principal.user)
    students = make_students(school, klass, 2)
    give_outcomes(terms[0], {students[1]: [OutcomeState.SUBMITTED]})
    response = client.get(reverse(MATRIX), {"term": terms[0].pk})
    assert response.status_code == 200
    assert response.context["matrix"].school_class == klass
    rows = response.context["rows"]
    assert [(r.student, r.awaiting) for r in rows] == [(students[0], 0), (students[1], 1)]
    teachers = client_for(principal).get(reverse(MATRIX), {"term": terms[0].pk})
    assert [figures(r) for r in teachers.context["rows"]] == [figures(r) for r in rows]
    assert sheet_rows(client.get(reverse(EXPORT), {"term": terms[0].pk}))[1][1] == students[0].name


# --- Sorting and hostile parameters ----------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("seat", "abc"),
        ("uploaded", "cba"),  # fewest first
        ("rejected", "abc"),  # most first, seat among equals
        ("corrections", "bac"),
        ("selection", "cba"),  # none, saved, confirmed
        ("performances", "cba"),
        ("name", "abc"),
    ],
)
def test_sorting_by_a_column(hannah, world, terms, sort, order):
    response = client_for(hannah).get(reverse(MATRIX), {"term": terms[0].pk, "sort": sort})
    assert [r.student for r in response.context["rows"]] == [world[k] for k in order]
    html = response.content.decode()
    column = next(c for c in response.context["columns"] if c.key == sort)
    direction = "descending" if column.descending else "ascending"
    assert f'aria-sort="{direction}"' in html
    assert html.count("aria-sort=") == 1


HOSTILE = ["abc", "1\x00", "\x00", "9" * 25, "9" * 5000, "-1", "²", "٣", "1 OR 1=1", "x" * 10_000]


@pytest.mark.parametrize("name", ["school_class", "term", "sort"])
def test_bad_parameters_give_the_default_page(hannah, world, her_class, name):
    client = client_for(hannah)
    for value in HOSTILE:
        response = client.get(reverse(MATRIX), {name: value})
        assert response.status_code == 200, repr(value[:20])
        assert response.context["matrix"].school_class == her_class
        assert response.context["sort"] == "seat"
        assert [r.student for r in response.context["rows"]] == [world[k] for k in "abc"]
        assert client.get(reverse(EXPORT), {name: value}).status_code == 200


def test_well_formed_ids_that_are_not_yours_are_404(hannah, world, her_class, terms):
    client = client_for(hannah)
    for params in ({"school_class": her_class.pk + 1000}, {"term": terms[-1].pk + 1000}):
        assert client.get(reverse(MATRIX), params).status_code == 404
        assert client.get(reverse(EXPORT), params).status_code == 404


# --- The export ------------------------------------------------------------------------------


def test_the_export_has_the_same_rows_in_the_same_order(hannah, world, terms):
    client = english(client_for(hannah))
    params = {"term": terms[0].pk, "sort": "corrections"}
    page = client.get(reverse(MATRIX), params)
    rows = sheet_rows(client.get(reverse(EXPORT), params))
    assert rows[0] == tuple(str(c.label) for c in page.context["columns"])
    body, total = rows[1:-1], rows[-1]
    assert [r[1] for r in body] == [r.student.name for r in page.context["rows"]]
    a = next(r for r in body if r[1] == world["a"].name)
    assert a[2:] == (5, 1, 2, 1, 1, 4, "Confirmed", 1)
    assert total == ("Total", "3 students", 6, 1, 2, 2, 1, 5, "1 confirmed", 3)
    # The page links to the export of what it shows.
    assert f"{reverse(EXPORT)}?sort=corrections" in page.content.decode()


# --- Queries -------------------------------------------------------------------------------


def fill_class(school, klass, terms, count, prefix):
    """``count`` students, each with outcomes in every state, performances, a selection and
    an open correction."""
    students = make_students(school, klass, count, prefix=prefix)
    states = [OutcomeState.DRAFT, OutcomeState.SUBMITTED, OutcomeState.CERTIFIED]
    give_outcomes(terms[0], dict.fromkeys(students, states), course=course_of(terms[0]))
    year = terms[0].school_year
    for student in students:
        give_performances(year, student, PerformanceState.SAVED, PerformanceState.DRAFT)
        give_correction(student)
    Selection.objects.bulk_create(
        Selection(school=school, student=s, school_year=year, confirmed_at=timezone.now())
        for s in students
    )
    return students


@pytest.mark.parametrize("count", [3, 40])
def test_queries_do_not_grow_with_the_class(
    school, hannah, her_class, terms, count, django_assert_max_num_queries
):
    fill_class(school, her_class, terms, count, prefix="Q")
    client = client_for(hannah)
    url = reverse(MATRIX)
    client.get(url)  # the session's first use is not the page's cost
    for sort in ("seat", "selection"):
        with django_assert_max_num_queries(QUERY_BOUND):
            response = client.get(url, {"term": terms[0].pk, "sort": sort})
        rows = response.context["rows"]
        assert len(rows) == count
        assert all(figures(r)[:6] == (3, 1, 1, 1, 0, 2) for r in rows)
    with django_assert_max_num_queries(QUERY_BOUND):
        assert len(sheet_rows(client.get(reverse(EXPORT), {"term": terms[0].pk}))) == count + 2
