"""Record imports from xlsx or CSV files with the central database's column names.

The registry imports the student roster and the term grades, the curriculum office the
courses and the course enrolments, student affairs the cadre posts, club memberships and
attendance summaries of a term. ``records.services.imports`` runs them (preview,
apply); ``records.jobs`` runs those as background jobs; ``import_records`` from the
command line.

Apps above records add kinds of their own with ``register`` from their ``ready()``
(submissions: the diverse performances the school enters), so that this package never
imports them.
"""

from typing import Any

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from portfolio.audit import register_actions
from records.imports import messages
from records.imports.affairs import AttendanceImport, CadrePostsImport, ClubsImport
from records.imports.base import ImportKind
from records.imports.courses import CoursesImport
from records.imports.enrolments import EnrolmentsImport
from records.imports.grades import GradesImport
from records.imports.students import StudentsImport

KINDS: dict[str, ImportKind] = {}


def register(
    kind: ImportKind,
    *,
    codes: dict[str, Any] | None = None,
    what: dict[str, Any] | None = None,
) -> ImportKind:
    """Offer ``kind`` on the imports page and the command line, with its message codes."""
    if kind.name in KINDS:
        raise ValueError(f"import kind {kind.name!r} registered twice")
    messages.register(messages=codes or {}, what=what or {})
    KINDS[kind.name] = kind
    register_actions(
        "imports", _("Imports"), {f"import.{kind.name}": format_lazy(_("Import: {}"), kind.label)}
    )
    return kind


for _kind in (
    StudentsImport(),
    CoursesImport(),
    EnrolmentsImport(),
    GradesImport(),
    CadrePostsImport(),
    ClubsImport(),
    AttendanceImport(),
):
    register(_kind)


def kinds_for(role: str) -> list[ImportKind]:
    """The kinds of import a role may run, in the order the page lists them."""
    return [kind for kind in KINDS.values() if role in kind.roles]
