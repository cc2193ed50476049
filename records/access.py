"""Who may see which students, and one access helper per kind of record.

The scope, decided once for every list, record page, counter and export:

- a **student** sees their own record;
- a **homeroom teacher** sees the students of the classes they lead this school year;
- a **course consultant** sees the students of the classes they consult;
- an **office** (registry, curriculum, student affairs, counselling) sees the students of
  its own division (day or continuing education); a student not yet placed in a class
  counts as the day division's;
- anyone else sees none.

A deputy acting for someone sees what that person sees (``acting.principal``).

The ``get_<thing>_for(acting, pk)`` helpers answer 404 for a row that does not exist and
for one the acting person may not see alike, so that nothing leaks across schools,
divisions or classes.
"""

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from accounts.acting import ActingContext
from accounts.models import Division, Role
from portfolio.lib import roc
from portfolio.models import Job
from records.models import (
    CORRECTION_OFFICES,
    CadrePost,
    CareerExploration,
    Club,
    ClubMembership,
    Consultation,
    CorrectionRequest,
    Course,
    CourseCodeCheck,
    CourseEnrolment,
    EnrolmentChange,
    SchoolClass,
    Student,
)

OFFICE_ROLES = frozenset(r.value for r in CORRECTION_OFFICES)


# --- Scopes ---------------------------------------------------------------------------


def division_q(division: str, *, prefix: str = "") -> Q:
    """Students of a division's offices: those in its classes; a student without a class
    is the day division's until the registry places them."""
    q = Q(**{f"{prefix}school_class__division": division})
    if division == Division.DAY:
        q |= Q(**{f"{prefix}school_class__isnull": True})
    return q


def classes_visible_to(acting: ActingContext) -> QuerySet[SchoolClass]:
    """The classes whose students the acting person may see, by grade and name."""
    classes = SchoolClass.objects.filter(school=acting.school).order_by("grade", "name")
    this_year = Q(school_year__roc_year=roc.current_school_year())
    if acting.role == Role.HOMEROOM:
        return classes.filter(this_year, homeroom_teacher=acting.principal)
    if acting.role == Role.CONSULTANT:
        return classes.filter(consultants=acting.principal)
    if acting.role in OFFICE_ROLES:
        return classes.filter(this_year, division=acting.division)
    return classes.none()


def students_visible_to(acting: ActingContext) -> QuerySet[Student]:
    """The students the acting person may see (see the module's docstring)."""
    students = Student.objects.for_school(acting.school)
    if acting.role == Role.STUDENT:
        return students.filter(user=acting.user)
    if acting.role in (Role.HOMEROOM, Role.CONSULTANT):
        return students.filter(school_class__in=classes_visible_to(acting))
    if acting.role in OFFICE_ROLES:
        return students.filter(division_q(acting.division))
    return students.none()


# --- Students ---------------------------------------------------------------------------


def get_own_student(acting: ActingContext) -> Student | None:
    """The acting student's own record in the acting school (None until the registry
    has linked one to the account)."""
    return (
        Student.objects.select_related("school_class", "school")
        .filter(user=acting.user, school=acting.school)
        .first()
    )


def get_student_for(acting: ActingContext, pk: int) -> Student:
    return get_object_or_404(
        students_visible_to(acting).select_related("school_class__school_year", "school"), pk=pk
    )


def get_class_for(acting: ActingContext, pk: int) -> SchoolClass:
    return get_object_or_404(classes_visible_to(acting), pk=pk)


# --- The offices' records ---------------------------------------------------------------


def get_cadre_post_for(acting: ActingContext, pk: int) -> CadrePost:
    return get_object_or_404(
        CadrePost.objects.select_related("student__school_class", "term__school_year", "school"),
        pk=pk,
        school=acting.school,
        student__in=students_visible_to(acting),
    )


def get_club_for(acting: ActingContext, pk: int) -> Club:
    """A club of the school: clubs are the school's, their members each office's own."""
    return get_object_or_404(
        Club.objects.select_related("school_year", "school"), pk=pk, school=acting.school
    )


def get_club_membership_for(acting: ActingContext, pk: int) -> ClubMembership:
    return get_object_or_404(
        ClubMembership.objects.select_related("club", "student", "term", "school"),
        pk=pk,
        school=acting.school,
        student__in=students_visible_to(acting),
    )


def get_consultation_for(acting: ActingContext, pk: int) -> Consultation:
    """A record the consultant (or their principal) wrote, of a student they still consult."""
    return get_object_or_404(
        Consultation.objects.select_related("student__school_class", "consultant", "school"),
        pk=pk,
        school=acting.school,
        consultant=acting.principal,
        student__in=students_visible_to(acting),
    )


def get_career_record_for(acting: ActingContext, pk: int) -> CareerExploration:
    return get_object_or_404(
        CareerExploration.objects.select_related("student__school_class", "counsellor", "school"),
        pk=pk,
        school=acting.school,
        student__in=students_visible_to(acting),
    )


def get_enrolment_change_for(acting: ActingContext, pk: int) -> EnrolmentChange:
    return get_object_or_404(
        EnrolmentChange.objects.select_related(
            "student__school_class", "student__school", "school"
        ),
        pk=pk,
        school=acting.school,
        student__in=students_visible_to(acting),
    )


def corrections_visible_to(acting: ActingContext) -> QuerySet[CorrectionRequest]:
    """Requests addressed to the acting office about the students it may see."""
    return CorrectionRequest.objects.filter(
        school=acting.school, office=acting.role, student__in=students_visible_to(acting)
    )


def get_correction_for(acting: ActingContext, pk: int) -> CorrectionRequest:
    """A request addressed to the acting office, about a student of its division."""
    return get_object_or_404(
        corrections_visible_to(acting).select_related(
            "student__school_class", "resolved_by", "school"
        ),
        pk=pk,
    )


# --- Courses ----------------------------------------------------------------------------


def get_course_for(acting: ActingContext, pk: int) -> Course:
    return get_object_or_404(
        Course.objects.select_related("term__school_year", "school"), pk=pk, school=acting.school
    )


def get_check_for(acting: ActingContext, pk: int) -> CourseCodeCheck:
    return get_object_or_404(
        CourseCodeCheck.objects.select_related("term__school_year", "code_list", "ran_by"),
        pk=pk,
        school=acting.school,
    )


def get_enrolment_for(acting: ActingContext, course: Course, pk: int) -> CourseEnrolment:
    return get_object_or_404(
        CourseEnrolment.objects.select_related("student__school_class", "course__school"),
        pk=pk,
        course=course,
        school=acting.school,
        student__in=students_visible_to(acting),
    )


# --- Imports ----------------------------------------------------------------------------


def imports_of(acting: ActingContext) -> QuerySet[Job]:
    """The imports this user started in this school, of the kinds their role runs."""
    from records.imports import kinds_for
    from records.services.imports import JOB_KINDS

    kinds = [kind.name for kind in kinds_for(acting.role)]
    return Job.objects.filter(
        school=acting.school,
        created_by=acting.user,
        kind__in=JOB_KINDS,
        params__kind__in=kinds,
    )


def get_import_for(acting: ActingContext, pk: int) -> Job:
    """An import the user started, of a kind their role runs; 404 for anything else
    (another school's, a colleague's, another office's)."""
    return get_object_or_404(imports_of(acting), pk=pk)
