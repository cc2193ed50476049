"""Rows for the certification pages (the teacher's queue, the registry's proxy page and the
decisions).

The outcome of this world belongs to a course whose teacher is still active and is none of
the actors: a teacher actor is "another teacher of the school" (404 on the outcome, an empty
queue of their own), and the registry may not act as proxy on it (404). Other roles get 403;
a teacher or registry member of another school reaches only their own, empty, lists.
"""

from accounts.models import Division, Role
from records.models import Course, CourseEnrolment, SchoolClass, Student
from submissions.models import CourseOutcome, OutcomeState, StoredFile
from tests.matrix import only

R = Role


def _outcome(world):
    return {"pk": world["certification_outcome"].pk}


def build(world, make_member):
    school, term = world["school"], world["term"]
    school_class = SchoolClass.objects.create(
        school=school, school_year=term.school_year, name="C01", grade=10, division=Division.DAY
    )
    student = Student.objects.create(
        school=school, student_number="C0001", name="認證生", school_class=school_class
    )
    course = Course.objects.create(
        school=school, term=term, code="C" * 23, name="地理", grade=10, credits=2
    )
    course.teachers.add(make_member(school, R.TEACHER).user)
    enrolment = CourseEnrolment.objects.create(school=school, student=student, course=course)
    stored = StoredFile.objects.create(
        school=school,
        student=student,
        storage_key="certification" + "0" * 19 + ".pdf",
        display_name="成果.pdf",
        extension="pdf",
        mime="application/pdf",
        size=1000,
        sha256="0" * 64,
    )
    world["certification_outcome"] = CourseOutcome.objects.create(
        school=school,
        student=student,
        enrolment=enrolment,
        title="成果",
        description="簡述",
        document=stored,
        state=OutcomeState.SUBMITTED,
    )


NOT_THEIRS = only({R.TEACHER: 404, R.REGISTRY: 404}, outsider=404, outsider_role=R.TEACHER)

ROWS = {
    "certification:queue": (
        "get",
        None,
        only({R.TEACHER: 200}, outsider=200, outsider_role=R.TEACHER),
    ),
    "certification:proxy": (
        "get",
        None,
        only({R.REGISTRY: 200}, outsider=200, outsider_role=R.REGISTRY),
    ),
    "certification:decide": ("post", _outcome, NOT_THEIRS),
    "certification:reject": ("get", _outcome, NOT_THEIRS),
    # Nothing ticked: back to the list with a word (each ticked item is checked alone).
    "certification:certify_many": (
        "post",
        None,
        only({R.TEACHER: 302, R.REGISTRY: 302}, outsider=302, outsider_role=R.TEACHER),
    ),
}
