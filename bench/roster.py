"""Queries of the homeroom teacher's class roster for a 900-student class.

Run in a ``manage.py shell`` against the bench database: the demo class 101 is grown to
900 students enrolled in its term-1 courses, then the roster page is requested through
Django's test client as the demo homeroom teacher, counting the SQL queries. The count
must not grow with the class (tests/test_staff_records_roster.py asserts that too).
"""

from collections.abc import Callable

from bench.errors import BenchError

SIZE = 900
SCRIPT = f"""
from django.test.utils import setup_test_environment
setup_test_environment()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from accounts import acting
from accounts.models import Membership, Role
from portfolio.models import Term
from records.models import Course, CourseEnrolment, SchoolClass, Student

klass = SchoolClass.objects.get(school__code="999001", name="101")
term = Term.objects.filter(school=klass.school, school_year=klass.school_year, number=1).get()
have = klass.students.count()
Student.objects.bulk_create(
    Student(school=klass.school, school_class=klass, student_number=f"R{{n:05d}}",
            name=f"學生{{n}}", seat_number=None)
    for n in range(have, {SIZE})
)
courses = list(Course.objects.filter(term=term, section=klass.name))
enrolled = set(CourseEnrolment.objects.filter(course__in=courses).values_list("student_id", "course_id"))
CourseEnrolment.objects.bulk_create(
    CourseEnrolment(school=klass.school, student=s, course=c)
    for s in klass.students.all() for c in courses if (s.pk, c.pk) not in enrolled
)
membership = Membership.objects.get(user=klass.homeroom_teacher, school=klass.school, role=Role.HOMEROOM)
client = Client(SERVER_NAME="localhost")
client.force_login(klass.homeroom_teacher)
session = client.session
session[acting.SESSION_KEY] = {{"membership": membership.pk, "deputy": None}}
session.save()
with CaptureQueriesContext(connection) as queries:
    response = client.get(reverse("staffrecords:roster"), {{"term": term.pk}})
assert response.status_code == 200, response.status_code
print("ROSTER", len(response.context["students"]), len(queries.captured_queries))
"""


def roster_queries(manage: Callable[..., str]) -> list[tuple[str, float, str]]:
    output = manage("shell", "-c", SCRIPT)
    line = next((row for row in output.splitlines() if row.startswith("ROSTER ")), None)
    if line is None:
        raise BenchError(f"the roster script printed no result:\n{output[-2000:]}")
    _tag, students, queries = line.split()
    if int(students) != SIZE:
        raise BenchError(f"the roster showed {students} students, not {SIZE}")
    return [("roster_page_queries", float(queries), "queries")]
