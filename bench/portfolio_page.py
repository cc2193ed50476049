"""Queries of a student's pages with 60 items, and with 6: the count must not grow; and the
portfolio page of that student under load (``portfolio_page_rps``, run in ``bench/run.py``).

The portfolio page, and the selection page of the school year whose selection window the
demo opens for grade 10 (s020 is in class 101).

Run in a ``manage.py shell`` against the bench database: demo student s020 gets course
outcomes (each with a stored-file row; the page does not read the files) and diverse
performances, half and half, in every state, then the page is requested through Django's
test client as that student, counting the SQL queries, first with 6 items and then with 60
(after one request uncounted: the process keeps the school's calendar once read).
"""

import re
from collections.abc import Callable

from bench.errors import BenchError

ITEMS = 60

SCRIPT = """
from django.test.utils import setup_test_environment
setup_test_environment()
import uuid
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from accounts import acting
from accounts.models import Membership, Role
from records.models import CourseEnrolment, Student
from submissions.models import (
    CourseOutcome, OutcomeState, Performance, PerformanceCategory, PerformanceSource,
    PerformanceState, StoredFile,
)

student = Student.objects.select_related("school", "user").get(user__username="s020")
school = student.school
enrolments = list(
    CourseEnrolment.objects.filter(student=student, course__credits__gt=0)
    .select_related("course__term")
)
outcome_states = list(OutcomeState)
performance_states = list(PerformanceState)
categories = list(PerformanceCategory)
sources = list(PerformanceSource)


def stored():
    key = uuid.uuid4().hex
    return StoredFile.objects.create(
        school=school, student=student, storage_key=f"{key}.pdf", display_name="report.pdf",
        extension="pdf", mime="application/pdf", size=1000, sha256="0" * 64,
    )


def add(n):
    for i in range(n):
        if i % 2 == 0:
            enrolment = enrolments[i % len(enrolments)]
            CourseOutcome.objects.create(
                school=school, student=student, enrolment=enrolment, title=f"Outcome {i}",
                description="Work from the course.", document=stored(),
                state=outcome_states[i % len(outcome_states)],
                rejection_reason="Not the student's own work." if i % 10 == 6 else "",
            )
        else:
            Performance.objects.create(
                school=school, student=student, school_year=enrolments[0].course.term.school_year,
                category=categories[i % len(categories)], source=sources[i % len(sources)],
                name=f"Performance {i}", description="What was done.", document=stored(),
                state=performance_states[i % len(performance_states)],
            )


PAGE = reverse(**PAGE_ARGS(enrolments[0].course.term.school_year))
membership = Membership.objects.get(user=student.user, school=school, role=Role.STUDENT)
client = Client(SERVER_NAME="localhost")
client.force_login(student.user)
session = client.session
session[acting.SESSION_KEY] = {"membership": membership.pk, "deputy": None}
session.save()


def count():
    with CaptureQueriesContext(connection) as queries:
        response = client.get(PAGE)
    assert response.status_code == 200, response.status_code
    return len(queries.captured_queries)


CourseOutcome.objects.filter(student=student).delete()
Performance.objects.filter(student=student).delete()
add(6)
count()  # a warm process: what it reads once and keeps (the school's calendar) is read now
few = count()
add(54)
items = CourseOutcome.objects.filter(student=student).count() + Performance.objects.filter(
    student=student
).count()
many = count()
print("PAGE", items, few, many)
"""

# figure name -> reverse()'s arguments for the page, given the items' school year
PAGES = {
    "portfolio_page_queries": 'lambda year: {"viewname": "outcomes:portfolio"}',
    "selection_page_queries": (
        'lambda year: {"viewname": "selection:select", "args": [year.roc_year]}'
    ),
}


def page_queries(manage: Callable[..., str], name: str) -> list[tuple[str, float, str]]:
    output = manage("shell", "-c", f"PAGE_ARGS = {PAGES[name]}\n{SCRIPT}")
    line = next((row for row in output.splitlines() if row.startswith("PAGE ")), None)
    if line is None:
        raise BenchError(f"the {name} script printed no result:\n{output[-2000:]}")
    _tag, items, few, many = line.split()
    if int(items) != ITEMS:
        raise BenchError(f"the student had {items} items, not {ITEMS}")
    if int(many) != int(few):
        raise BenchError(f"{name}: the page's queries grow with its items: {few} -> {many}")
    return [(name, float(many), "queries")]


# --- the page under load (portfolio_page_rps) ---------------------------------------------------

STUDENT = "s020"  # the student the script above gives 60 items
ITEM_ANCHOR = re.compile(r'<li[^>]* id="(outcome|performance)-(\d+)"')


def check_portfolio_page(status: int, html: str) -> None:
    """The student's own portfolio page with the script's 60 items (each item, withdrawn or
    not, is a list entry with its anchor), not a form or an error."""
    if status != 200:
        raise BenchError(f"/portfolio/ answered {status} to {STUDENT}, not 200")
    shown = {match.groups() for match in ITEM_ANCHOR.finditer(html)}
    if len(shown) != ITEMS:
        raise BenchError(
            f"/portfolio/ of {STUDENT} shows {len(shown)} of the {ITEMS} items the portfolio "
            f"page script gave it:\n{html[:1500]}"
        )
