"""Which outcomes a person may decide on, and the access helper of the decision pages.

- a teacher of the course (or a deputy acting for one: the teacher is then the certifier);
- the registry office, as proxy, for a course none of whose teachers is still an active
  teacher of the school, for the students it may see (its own division).

Anything else answers 404, as if the outcome did not exist.
"""

from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.expressions import Combinable
from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.acting import ActingContext
from accounts.models import Membership, Role
from certification.models import Concern
from records.access import students_visible_to
from submissions.models import CourseOutcome, OutcomeState


def teachers_all_left() -> Combinable:
    """Outcomes of a course none of whose teachers is an active teacher of the school
    (or that has no teacher at all): the registry certifies them as proxy."""
    active_teacher = Membership.objects.filter(
        school=OuterRef("school"),
        role=Role.TEACHER,
        is_active=True,
        user__courses_taught=OuterRef("enrolment__course"),
    )
    return ~Exists(active_teacher)


def decision_scope(acting: ActingContext) -> QuerySet[CourseOutcome]:
    """The outcomes the acting person may decide on, in any state the student has sent
    (drafts never reach the teacher); none for any other role."""
    outcomes = CourseOutcome.objects.for_school(acting.school).exclude(state=OutcomeState.DRAFT)
    if acting.role == Role.TEACHER:
        return outcomes.filter(enrolment__course__teachers=acting.principal)
    if acting.role == Role.REGISTRY:
        return outcomes.filter(teachers_all_left(), student__in=students_visible_to(acting))
    return outcomes.none()


def get_outcome_for(acting: ActingContext, pk: int) -> CourseOutcome:
    """An outcome the acting teacher (or the registry, as proxy) may decide on; 404 else."""
    return get_object_or_404(
        decision_scope(acting).select_related(
            "student__school_class", "enrolment__course__term__school_year", "document", "media"
        ),
        pk=pk,
    )


def get_decided_for_registry(acting: ActingContext, pk: int) -> CourseOutcome:
    """An outcome of a student the acting registry may see, whatever course it is of (the
    registry reopens any decision of its division); 404 for anyone else or another school's."""
    if acting.role != Role.REGISTRY:
        raise Http404
    return get_object_or_404(
        CourseOutcome.objects.for_school(acting.school)
        .filter(student__in=students_visible_to(acting))
        .exclude(state=OutcomeState.DRAFT)
        .select_related(
            "student__school_class", "enrolment__course__term__school_year", "certified_by"
        ),
        pk=pk,
    )


# --- concerns (反映) ---------------------------------------------------------------------------

CONCERN_STAFF = (Role.TEACHER, Role.REGISTRY)


def concerns_visible_to(acting: ActingContext) -> QuerySet[Concern]:
    """The student's own concerns; a teacher's, those on outcomes of the courses they teach
    (a deputy: of the teacher they act for); the registry's, those of its division's
    students. Nobody else's."""
    concerns = Concern.objects.filter(school=acting.school)
    if acting.role == Role.STUDENT:
        return concerns.filter(student__user=acting.user)
    if acting.role == Role.TEACHER:
        return concerns.filter(outcome__enrolment__course__teachers=acting.principal)
    if acting.role == Role.REGISTRY:
        return concerns.filter(student__in=students_visible_to(acting))
    return concerns.none()


def get_concern_for(acting: ActingContext, pk: int) -> Concern:
    return get_object_or_404(
        concerns_visible_to(acting).select_related(
            "student__school_class", "outcome__enrolment__course__term", "outcome__certified_by"
        ),
        pk=pk,
    )
