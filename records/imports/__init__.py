"""Record imports from xlsx or CSV files with the central database's column names.

The registry imports the student roster and the term grades, the curriculum office the
courses and the course enrolments, student affairs the cadre posts, club memberships and
attendance summaries of a term. ``records.services.imports`` runs them (preview,
apply); ``records.jobs`` runs those as background jobs; ``import_records`` from the
command line.
"""

from records.imports.affairs import AttendanceImport, CadrePostsImport, ClubsImport
from records.imports.base import ImportKind
from records.imports.courses import CoursesImport
from records.imports.enrolments import EnrolmentsImport
from records.imports.grades import GradesImport
from records.imports.performances import PerformancesImport
from records.imports.students import StudentsImport

KINDS: dict[str, ImportKind] = {
    kind.name: kind
    for kind in (
        StudentsImport(),
        CoursesImport(),
        EnrolmentsImport(),
        GradesImport(),
        CadrePostsImport(),
        ClubsImport(),
        AttendanceImport(),
        PerformancesImport(),
    )
}


def kinds_for(role: str) -> list[ImportKind]:
    """The kinds of import a role may run, in the order the page lists them."""
    return [kind for kind in KINDS.values() if role in kind.roles]
