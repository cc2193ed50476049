"""Rows for the registry's late upload windows (extensions) of one student."""

import datetime as dt

from django.utils import timezone

from accounts.acting import ActingContext
from accounts.models import Role
from records.models import Student
from submissions.models import ExtensionKind
from submissions.services.extensions import extension_grant
from tests.matrix import only

R = Role


def build(world, make_member):
    registry = make_member(world["school"], R.REGISTRY, username="extension-registry")
    student = Student.objects.create(school=world["school"], student_number="E0001", name="延長生")
    now = timezone.now()
    world["extension"] = extension_grant(
        student=student,
        term=world["term"],
        kind=ExtensionKind.OUTCOME_UPLOAD,
        ends_at=now + dt.timedelta(days=3),
        reason="住院治療，出院後補交",
        by=ActingContext(user=registry.user, membership=registry),
        now=now,
    )


# The lists show the acting school's own rows: a registry of another school gets its own
# (empty) list, and 404 for this school's extension.
REGISTRY_PAGE = only({R.REGISTRY: 200}, outsider=200, outsider_role=R.REGISTRY)
# The student has no class yet, so is the day division's: the other division's registry 404.
END = only({R.REGISTRY: 302}, outsider=404, outsider_role=R.REGISTRY, other_division=404)

ROWS = {
    "extensions:list": ("get", None, REGISTRY_PAGE),
    "extensions:add": ("get", None, REGISTRY_PAGE),
    "extensions:end": ("post", lambda w: {"pk": w["extension"].pk}, END),
}
