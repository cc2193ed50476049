"""Rows for the student's course-outcome pages and portfolio page.

Only students reach them (staff get 403). A student actor here has no Student record linked
to their account: the portfolio and upload pages say so (200), and the outcome of this
world's student, like any outcome not their own, is a 404 on every page that names it.
"""

from accounts.models import Division, Role
from records.models import Course, CourseEnrolment, SchoolClass, Student
from submissions.models import CourseOutcome, OutcomeState, StoredFile
from tests.matrix import only

R = Role


def _outcome(world):
    return {"pk": world["outcomes_outcome"].pk}


def build(world, make_member):
    school, term = world["school"], world["term"]
    school_class = SchoolClass.objects.create(
        school=school, school_year=term.school_year, name="O01", grade=10, division=Division.DAY
    )
    student = Student.objects.create(
        school=school, student_number="O0001", name="成果生", school_class=school_class
    )
    course = Course.objects.create(
        school=school, term=term, code="O" * 23, name="化學", grade=10, credits=2
    )
    enrolment = CourseEnrolment.objects.create(school=school, student=student, course=course)
    stored = StoredFile.objects.create(
        school=school,
        student=student,
        storage_key="outcomes" + "0" * 24 + ".pdf",
        display_name="成果.pdf",
        extension="pdf",
        mime="application/pdf",
        size=1000,
        sha256="0" * 64,
    )
    world["outcomes_outcome"] = CourseOutcome.objects.create(
        school=school,
        student=student,
        enrolment=enrolment,
        title="成果",
        description="簡述",
        document=stored,
        state=OutcomeState.DRAFT,
    )


STUDENT_PAGE = only({R.STUDENT: 200}, outsider=200, outsider_role=R.STUDENT)
NOT_THEIRS = only({R.STUDENT: 404}, outsider=404, outsider_role=R.STUDENT)

ROWS = {
    "outcomes:portfolio": ("get", None, STUDENT_PAGE),
    "outcomes:add": ("get", None, STUDENT_PAGE),
    "outcomes:edit": ("get", _outcome, NOT_THEIRS),
    "outcomes:replace": ("get", _outcome, NOT_THEIRS),
    "outcomes:withdraw": ("post", _outcome, NOT_THEIRS),
    "outcomes:submit": ("post", _outcome, NOT_THEIRS),
}
