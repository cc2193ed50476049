"""Access to the core's objects: one helper per kind, 404 for "not found" and "not yours".

Every helper takes the acting person and looks only inside their school, so an id of
another school's row answers exactly as an id that does not exist.
"""

from django.shortcuts import get_object_or_404

from portfolio.actor import Actor
from portfolio.models import Job, SchoolPolicy, Term, Window


def get_term_for(acting: Actor, pk: int) -> Term:
    return get_object_or_404(
        Term.objects.select_related("school_year"), pk=pk, school=acting.school
    )


def get_window_for(acting: Actor, pk: int) -> Window:
    return get_object_or_404(
        Window.objects.select_related("term__school_year"), pk=pk, school=acting.school
    )


def get_policy_for(acting: Actor, roc_year: int) -> SchoolPolicy:
    return get_object_or_404(
        SchoolPolicy.objects.select_related("school_year"),
        school=acting.school,
        school_year__roc_year=roc_year,
    )


def get_job_for(acting: Actor, pk: int) -> Job:
    """A job of the acting school that this user started; 404 for anyone else."""
    return get_object_or_404(Job, pk=pk, school=acting.school, created_by=acting.user)
