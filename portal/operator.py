"""Each school's size and last activity, for the platform operator.

Here in the site layer because the counts read records (students) and submissions (course
outcomes, diverse performances, stored files). Every figure is a correlated subquery on the
school row, so all schools come in one query however many there are.
"""

import dataclasses
import datetime as dt

from django.db import models
from django.db.models import Count, Max, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

from accounts.models import Membership
from portfolio.models import AuditLog, School
from records.models import Student
from submissions.models import CourseOutcome, Performance, StoredFile


def _per_school(model: type[models.Model], total: models.Aggregate) -> Coalesce:
    rows = (
        model._default_manager.filter(school=OuterRef("pk"))
        .order_by()
        .values("school")
        .annotate(total=total)
        .values("total")
    )
    return Coalesce(Subquery(rows), 0)


def schools_with_sizes() -> models.QuerySet[School]:
    """Every school, each annotated with its ``size_students``, ``size_outcomes``,
    ``size_performances``, ``size_bytes`` (of its stored files), ``size_last_audit`` (its
    latest audit entry) and ``size_last_sign_in`` (the latest sign-in of any of its
    members); ``size_of`` reads them."""
    latest_audit = (
        AuditLog.objects.filter(school=OuterRef("pk")).order_by("-created_at").values("created_at")
    )
    last_sign_in = (
        Membership.objects.filter(school=OuterRef("pk"))
        .order_by()
        .values("school")
        .annotate(last=Max("user__last_login"))
        .values("last")
    )
    return School.objects.annotate(
        size_students=_per_school(Student, Count("pk")),
        size_outcomes=_per_school(CourseOutcome, Count("pk")),
        size_performances=_per_school(Performance, Count("pk")),
        size_bytes=_per_school(StoredFile, Sum("size")),
        size_last_audit=Subquery(latest_audit[:1]),
        size_last_sign_in=Subquery(last_sign_in),
    ).order_by("code")


@dataclasses.dataclass(frozen=True)
class SchoolSize:
    school: School
    students: int
    items: int
    stored_bytes: int
    last_activity: dt.datetime | None

    @property
    def suspended(self) -> bool:
        return self.school.is_suspended


def size_of(school: School) -> SchoolSize:
    """The figures of a school of ``schools_with_sizes``: items are course outcomes and
    diverse performances; the last activity is the later of the latest audit entry and the
    latest sign-in."""
    figures = vars(school)
    moments = [figures["size_last_audit"], figures["size_last_sign_in"]]
    return SchoolSize(
        school=school,
        students=figures["size_students"],
        items=figures["size_outcomes"] + figures["size_performances"],
        stored_bytes=figures["size_bytes"],
        last_activity=max((m for m in moments if m is not None), default=None),
    )
