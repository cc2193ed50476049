"""Who may open a stored file: the one place that decides (every file URL asks it).

- the student whose portfolio holds it;
- the teacher of the course of an outcome handed in with it (not a draft, not withdrawn:
  those were never sent for certification);
- the homeroom teacher of the student's class and the offices that may open the student's
  record (``students_visible_to``).

Anyone else, and everyone of another school, is answered as if the file did not exist.
"""

from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from accounts.models import Role
from records.services.student_records import OFFICE_ROLES, students_visible_to
from submissions.models import CourseOutcome, OutcomeState, StoredFile

if TYPE_CHECKING:
    from accounts.acting import ActingContext

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


def files_visible_to(acting: "ActingContext") -> QuerySet[StoredFile]:
    """The stored files of the acting school that the acting person may open."""
    files = StoredFile.objects.filter(school=acting.school)
    if acting.role == Role.STUDENT:
        return files.filter(student__user=acting.user)
    if acting.role == Role.TEACHER:
        teacher = acting.on_behalf_of or acting.user
        outcomes = CourseOutcome.objects.filter(
            school=acting.school, state__in=HANDED_IN, enrolment__course__teachers=teacher
        )
        return files.filter(
            Q(pk__in=outcomes.filter(document__isnull=False).values("document"))
            | Q(pk__in=outcomes.filter(media__isnull=False).values("media"))
        )
    if acting.role == Role.HOMEROOM or acting.role in OFFICE_ROLES:
        return files.filter(student__in=students_visible_to(acting))
    return files.none()


def may_view_file(acting: "ActingContext", stored_file: StoredFile) -> bool:
    return files_visible_to(acting).filter(pk=stored_file.pk).exists()
