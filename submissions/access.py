"""Access to what students submit: one helper per kind, 404 for "not found" and "not yours".

Who may open a stored file is decided here, for every file URL:

- the student whose portfolio holds it;
- the teacher of the course of an outcome handed in with it (not a draft, not withdrawn:
  those were never sent for certification);
- the homeroom teacher of the student's class and the offices that may open the student's
  record (``students_visible_to``).

Anyone else, and everyone of another school, is answered as if the file did not exist.
"""

from django.db.models import Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.acting import ActingContext
from accounts.models import Role
from portfolio.models import Job, SchoolYear
from records.access import OFFICE_ROLES, get_own_student, students_visible_to
from records.models import Student
from submissions.models import (
    STAFF_SOURCES,
    CourseOutcome,
    Dispute,
    OutcomeState,
    Performance,
    Receipt,
    RosterPackage,
    StoredFile,
    WindowExtension,
)
from submissions.services.precheck import PRECHECK_JOB
from submissions.services.receipts import FETCH_JOB, LETTERS_JOB, RECEIPT_JOB, RECEIPT_ROLES
from submissions.services.rosters import packages_of
from submissions.services.selection import years_to_select

# Roles that may reach the file views at all; which files each sees is decided below.
FILE_ROLES = (
    Role.STUDENT,
    Role.TEACHER,
    Role.HOMEROOM,
    Role.REGISTRY,
    Role.STUDENT_AFFAIRS,
    Role.COUNSELLOR,
    Role.CURRICULUM,
)
# Outcomes a course's teacher has been asked to look at.
HANDED_IN = (OutcomeState.SUBMITTED, OutcomeState.CERTIFIED, OutcomeState.REJECTED)


def files_visible_to(acting: ActingContext) -> QuerySet[StoredFile]:
    """The stored files of the acting school that the acting person may open."""
    files = StoredFile.objects.filter(school=acting.school)
    if acting.role == Role.STUDENT:
        return files.filter(student__user=acting.user)
    if acting.role == Role.TEACHER:
        outcomes = CourseOutcome.objects.filter(
            school=acting.school, state__in=HANDED_IN, enrolment__course__teachers=acting.principal
        )
        return files.filter(
            Q(pk__in=outcomes.filter(document__isnull=False).values("document"))
            | Q(pk__in=outcomes.filter(media__isnull=False).values("media"))
        )
    if acting.role == Role.HOMEROOM or acting.role in OFFICE_ROLES:
        return files.filter(student__in=students_visible_to(acting))
    return files.none()


def may_view_file(acting: ActingContext, stored_file: StoredFile) -> bool:
    return files_visible_to(acting).filter(pk=stored_file.pk).exists()


def get_file_for(acting: ActingContext, pk: int) -> StoredFile:
    return get_object_or_404(files_visible_to(acting).select_related("school"), pk=pk)


# --- The student's own items ------------------------------------------------------------------


def own_student_or_404(acting: ActingContext) -> Student:
    """The acting student's record; 404 until the registry has linked one to the account."""
    student = get_own_student(acting)
    if student is None:
        raise Http404
    return student


def get_own_outcome_for(acting: ActingContext, pk: int) -> CourseOutcome:
    """One of the acting student's own outcomes; 404 for anyone else's (or no record)."""
    student = own_student_or_404(acting)
    outcome = get_object_or_404(
        CourseOutcome.objects.select_related(
            "enrolment__course__term__school_year", "document", "media"
        ),
        pk=pk,
        student=student,
        school=acting.school,
    )
    outcome.student = student  # the same row, with its class already loaded
    return outcome


def get_own_performance_for(acting: ActingContext, pk: int) -> Performance:
    """One of the acting student's own items, whoever entered it."""
    return get_object_or_404(
        Performance.objects.select_related("student", "school_year", "school", "document", "media"),
        pk=pk,
        school=acting.school,
        student__user=acting.user,
    )


def get_own_export_for(acting: ActingContext, pk: int) -> tuple[Job, Student]:
    """An export of the acting student's own portfolio that they started; 404 for any other."""
    from submissions.export import exports_of

    student = own_student_or_404(acting)
    jobs = exports_of(student).filter(created_by=acting.user)
    return get_object_or_404(jobs, pk=pk), student


# --- What the offices keep -----------------------------------------------------------------


def staff_performances_visible_to(acting: ActingContext) -> QuerySet[Performance]:
    """Items the school entered for the students the acting office may see."""
    return Performance.objects.filter(
        school=acting.school,
        source__in=STAFF_SOURCES,
        student__in=students_visible_to(acting),
    )


def get_staff_performance_for(acting: ActingContext, pk: int) -> Performance:
    """An item the acting office may change: one it entered (or one no office entered);
    another office's item is a 404 here, though the list shows it."""
    return get_object_or_404(
        staff_performances_visible_to(acting)
        .filter(entered_by_office__in=["", acting.role])
        .select_related("student__school_class", "school_year", "school", "document", "media"),
        pk=pk,
    )


def extensions_visible_to(acting: ActingContext) -> QuerySet[WindowExtension]:
    """The extensions of the students the acting office may see (its division)."""
    return WindowExtension.objects.filter(
        school=acting.school, student__in=students_visible_to(acting)
    )


def get_extension_for(acting: ActingContext, pk: int) -> WindowExtension:
    """An extension of a student the acting office may see; 404 for any other."""
    return get_object_or_404(extensions_visible_to(acting), pk=pk)


# --- The student's selection for the central database ---------------------------------------


def get_own_selection_year_for(acting: ActingContext, roc_year: int) -> tuple[Student, SchoolYear]:
    """The acting student and a school year of theirs with a selection (window or saved);
    404 for any other year, another school's, or no record."""
    student = own_student_or_404(acting)
    return student, get_object_or_404(years_to_select(student), roc_year=roc_year)


# --- The registry's rosters for the central database -------------------------------------

PRECHECK_ROLES = (Role.REGISTRY,)


def prechecks_of(acting: ActingContext) -> QuerySet[Job]:
    """The grade pre-checks of the acting registry's school and division (any clerk's)."""
    if acting.role not in PRECHECK_ROLES:
        return Job.objects.none()
    return Job.objects.filter(
        school=acting.school, kind=PRECHECK_JOB, params__division=acting.division
    )


def get_precheck_for(acting: ActingContext, pk: int) -> Job:
    """A pre-check of the acting registry's division; 404 for another division's, another
    school's, or anyone else."""
    return get_object_or_404(prechecks_of(acting), pk=pk)


def get_package_for(acting: ActingContext, pk: int) -> RosterPackage:
    """A package of a roster the acting office submits, of its division; 404 otherwise."""
    return get_object_or_404(
        packages_of(acting).select_related("school", "school_year", "term", "job"), pk=pk
    )


# --- receipts from the central database (收訖明細) ----------------------------------------


def receipts_of(acting: ActingContext) -> QuerySet[Receipt]:
    """The acting registry's school's receipts (a receipt answers the whole school)."""
    if acting.role not in RECEIPT_ROLES:
        return Receipt.objects.none()
    return Receipt.objects.filter(school=acting.school)


def get_receipt_for(acting: ActingContext, pk: int) -> Receipt:
    return get_object_or_404(receipts_of(acting).select_related("school_year"), pk=pk)


def receipt_jobs_of(acting: ActingContext) -> QuerySet[Job]:
    """Receipt imports and fetches of the acting registry's school (any clerk's)."""
    if acting.role not in RECEIPT_ROLES:
        return Job.objects.none()
    return Job.objects.filter(school=acting.school, kind__in=(RECEIPT_JOB, FETCH_JOB, LETTERS_JOB))


def get_receipt_job_for(acting: ActingContext, pk: int) -> Job:
    return get_object_or_404(receipt_jobs_of(acting), pk=pk)


DISPUTE_ROLES = (Role.REGISTRY, Role.STUDENT_AFFAIRS)


def disputes_of(acting: ActingContext) -> QuerySet[Dispute]:
    """Disputes of the rosters the acting office submits, of the students it may see."""
    if acting.role not in DISPUTE_ROLES:
        return Dispute.objects.none()
    return Dispute.objects.filter(
        school=acting.school,
        office=acting.role,
        answer__student__in=students_visible_to(acting),
    )


def get_dispute_for(acting: ActingContext, pk: int) -> Dispute:
    return get_object_or_404(disputes_of(acting), pk=pk)


def get_receipt_student_for(acting: ActingContext, receipt: Receipt, pk: int) -> Student:
    """A student with lines in ``receipt`` whom the acting registry may see; 404 otherwise."""
    return get_object_or_404(
        students_visible_to(acting)
        .filter(receipt_lines__receipt=receipt)
        .distinct()
        .select_related("school_class"),
        pk=pk,
    )
