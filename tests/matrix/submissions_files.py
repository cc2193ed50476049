"""Rows for a student's stored files (download and inline view).

The file belongs to a student of a day-division class; every role's actor is a member of
the school without a tie to that student (not their homeroom teacher, not the teacher of
the course), so only the day-division offices may open it. Everyone else who reaches the
views gets 404, as if the file did not exist.
"""

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from accounts.models import Division, Role
from records.models import Course, CourseEnrolment, SchoolClass, Student
from submissions.models import CourseOutcome, OutcomeState, StoredFile
from tests.matrix import only
from tests.test_files import make_pdf

R = Role


def _file(world):
    return {"pk": world["stored_file"].pk}


def build(world, make_member):
    school, term = world["school"], world["term"]
    school_class = SchoolClass.objects.create(
        school=school, school_year=term.school_year, name="F01", grade=10, division=Division.DAY
    )
    student = Student.objects.create(
        school=school, student_number="F0001", name="檔案生", school_class=school_class
    )
    course = Course.objects.create(
        school=school, term=term, code="F" * 23, name="物理", grade=10, credits=2
    )
    course.teachers.add(make_member(school, R.TEACHER).user)
    enrolment = CourseEnrolment.objects.create(school=school, student=student, course=course)
    data = make_pdf()
    stored = StoredFile.objects.create(
        school=school,
        student=student,
        storage_key="matrix" + "0" * 26 + ".pdf",
        display_name="成果.pdf",
        extension="pdf",
        mime="application/pdf",
        size=len(data),
        sha256="0" * 64,
    )
    if not default_storage.exists(stored.storage_path):
        default_storage.save(stored.storage_path, ContentFile(data))
    CourseOutcome.objects.create(
        school=school,
        student=student,
        enrolment=enrolment,
        title="成果",
        description="簡述",
        document=stored,
        state=OutcomeState.SUBMITTED,
    )
    world["stored_file"] = stored


OFFICES = [R.REGISTRY, R.CURRICULUM, R.STUDENT_AFFAIRS, R.COUNSELLOR]
FILE = only(
    {
        **dict.fromkeys(OFFICES, 200),
        R.STUDENT: 404,  # another student of the school
        R.TEACHER: 404,  # not the course's teacher
        R.HOMEROOM: 404,  # not this class's homeroom teacher
    },
    outsider=404,
    outsider_role=R.REGISTRY,
)

ROWS = {
    "files:download": ("get", _file, FILE),
    "files:inline": ("get", _file, FILE),
}
