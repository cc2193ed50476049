"""Rows for the basic-data area: the student's page, the offices' correction queue, and a
student's record for staff (registry edits and unmasks; some roles read it masked)."""

from accounts.models import Division, Role
from records.models import CorrectionRequest, SchoolClass, Student
from records.services.student_records import set_national_id
from tests.matrix import only

R = Role
OFFICES = [R.REGISTRY, R.CURRICULUM, R.STUDENT_AFFAIRS, R.COUNSELLOR]


def _student(world):
    return {"pk": world["basicdata_student"].pk}


def _correction(world):
    return {"pk": world["basicdata_correction"].pk}


def build(world, make_member):
    school = world["school"]
    year = world["term"].school_year
    school_class = SchoolClass.objects.create(
        school=school, school_year=year, name="M01", grade=10, division=Division.DAY
    )
    student = Student(
        school=school, student_number="M0001", name="矩陣生", school_class=school_class
    )
    set_national_id(student, "A123456789")
    student.save()
    world["basicdata_student"] = student
    # Addressed to the registry: the other offices get 404 for it, not 403.
    world["basicdata_correction"] = CorrectionRequest.objects.create(
        school=school, student=student, office=R.REGISTRY, topic="生日", message="生日有誤"
    )


# A student actor here has no Student record linked: the pages say so (200).
STUDENT_PAGE = only({R.STUDENT: 200}, outsider=200, outsider_role=R.STUDENT)
QUEUE = only(dict.fromkeys(OFFICES, 200), outsider=200, outsider_role=R.REGISTRY)
CORRECTION = only(
    {**dict.fromkeys(OFFICES, 404), R.REGISTRY: 200},
    outsider=404,
    outsider_role=R.REGISTRY,
    other_division=404,
)
# Staff who may read a record: homeroom only for their own classes (this one is not theirs).
STUDENT_RECORD = only(
    {
        R.REGISTRY: 200,
        R.CURRICULUM: 200,
        R.STUDENT_AFFAIRS: 200,
        R.COUNSELLOR: 200,
        R.HOMEROOM: 404,
    },
    outsider=404,
    outsider_role=R.REGISTRY,
    other_division=404,
)
REGISTRY_ONLY = only({R.REGISTRY: 200}, outsider=404, outsider_role=R.REGISTRY, other_division=404)

ROWS = {
    "basicdata:mine": ("get", None, STUDENT_PAGE),
    "basicdata:correction_add": ("get", None, STUDENT_PAGE),
    "basicdata:corrections": ("get", None, QUEUE),
    "basicdata:corrections_export": ("get", None, QUEUE),
    "basicdata:correction": ("get", _correction, CORRECTION),
    "basicdata:student": ("get", _student, STUDENT_RECORD),
    "basicdata:student_edit": ("get", _student, REGISTRY_ONLY),
    "basicdata:national_id": ("post", _student, REGISTRY_ONLY),
}
