"""The import engine: columns, the report of a run, reading a file into checked rows.

An import runs in three steps, each kind (students, courses, enrolments, grades)
supplying the last two:

1. ``read``: the file, streamed, becomes rows of parsed values; what is wrong with a cell
   alone (a bad checksum, a date that does not exist) is reported here;
2. ``ImportKind.plan``: existing records are loaded once into dicts keyed by natural keys,
   rows are matched against them (unknown students or courses, duplicates) and sorted
   into added, changed and unchanged;
3. ``ImportKind.write``: the plan is written with bulk inserts and updates.

A preview runs 1 and 2; applying runs 1, then 2 and 3 in one transaction, only when no
row has a problem.
"""

import csv
import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar

from django.db import models
from django.utils.functional import Promise

from portfolio.lib.text import forbidden_character
from portfolio.models import School, SchoolYear, Term
from records.imports import values
from records.imports.reader import (
    UNREADABLE,
    FileProblem,
    Table,
    normalize_header,
    open_table,
)
from records.imports.values import Cell, CellError

if TYPE_CHECKING:
    from accounts.acting import ActingContext

LIST_LIMIT = 200  # rows listed per category in a result
CSV_FIELD_LIMIT = csv.field_size_limit()  # characters of a CSV cell (the csv module's limit)
ERROR_LIMIT = 1000  # problems listed in a result
Progress = Callable[[float], None]  # fraction done, 0.0 to 1.0


@dataclasses.dataclass(frozen=True)
class Column:
    """A column of an import file, named as the central database names it."""

    header: str
    field: str
    parse: Callable[[Cell], Any]
    help: str | Promise = ""
    required: bool = False
    aliases: tuple[str, ...] = ()
    empty: Any = ""  # the value of an empty cell in an optional column
    multiline: bool = False  # may hold tabs and line breaks (a description)

    @property
    def names(self) -> set[str]:
        return {normalize_header(name) for name in (self.header, *self.aliases)}


@dataclasses.dataclass
class Context:
    """Where an import writes: the school, the term (or only the school year), and who."""

    school: School
    school_year: SchoolYear
    term: Term | None
    division: str
    by: "ActingContext | None" = None

    @property
    def required_term(self) -> Term:
        """The term, for the kinds that need one (``ImportKind.needs_term``: the import
        refuses to start without it, so here it is there)."""
        if self.term is None:
            raise ValueError("this kind of import needs a term")
        return self.term


@dataclasses.dataclass(slots=True)
class Row:
    number: int
    values: dict[str, Any]


@dataclasses.dataclass(slots=True)
class Problem:
    row: int
    column: str
    code: str
    params: dict[str, Any]


def shown(value: Any) -> str:
    """A value as the preview lists it: scores without trailing zeros, flags as 1/0."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        text = f"{value:f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


class Report:
    """Counts, listed rows and problems of one run; ``as_dict`` is what a job keeps."""

    def __init__(self, *, kind: str, file_name: str) -> None:
        self.kind = kind
        self.file_name = file_name
        self.rows = 0
        self.counts = {"added": 0, "changed": 0, "unchanged": 0}
        self.listed: dict[str, list[dict[str, Any]]] = {"added": [], "changed": [], "unchanged": []}
        self.problems: list[Problem] = []
        self.problem_count = 0
        self.bad_rows: set[int] = set()
        self.info: dict[str, Any] = {"sheet": "", "encoding": "", "ignored_columns": []}
        self.created: dict[str, list[str]] = {}

    @property
    def clean(self) -> bool:
        return self.problem_count == 0

    def problem(self, row: int, column: str, code: str, /, **params: Any) -> None:
        self.problem_count += 1
        if row:
            self.bad_rows.add(row)
        # Kept beyond the listed limit so the listed ones can be the first by row.
        if len(self.problems) < ERROR_LIMIT * 20:
            self.problems.append(Problem(row, column, code, params))

    def _list(self, category: str, entry: dict[str, Any]) -> None:
        self.counts[category] += 1
        if len(self.listed[category]) < LIST_LIMIT:
            self.listed[category].append(entry)

    def added(self, row: int, key: str, label: str, details: list[tuple[str, Any]]) -> None:
        self._list(
            "added",
            {
                "row": row,
                "key": key,
                "label": label,
                "details": [[column, shown(value)] for column, value in details],
            },
        )

    def changed(self, row: int, key: str, label: str, changes: list[tuple[str, Any, Any]]) -> None:
        self._list(
            "changed",
            {
                "row": row,
                "key": key,
                "label": label,
                "changes": [[column, shown(old), shown(new)] for column, old, new in changes],
            },
        )

    def unchanged(self, row: int, key: str, label: str) -> None:
        self._list("unchanged", {"row": row, "key": key, "label": label})

    def as_dict(self, *, context: Context | None, written: bool) -> dict[str, Any]:
        problems = sorted(self.problems, key=lambda p: p.row)[:ERROR_LIMIT]
        term = context.term if context else None
        return {
            "kind": self.kind,
            "file_name": self.file_name,
            "term": term.label if term else "",
            "term_id": term.pk if term else None,
            "school_year": context.school_year.roc_year if context else None,
            "written": written,
            "clean": self.clean,
            "counts": {
                "rows": self.rows,
                **self.counts,
                "errors": self.problem_count,
                "bad_rows": len(self.bad_rows),
            },
            **self.listed,
            "errors": [
                {"row": p.row, "column": p.column, "code": p.code, "params": p.params}
                for p in problems
            ],
            "created": self.created,
            "limits": {"listed": LIST_LIMIT, "errors": ERROR_LIMIT},
            **self.info,
        }


def update_changed(
    model: type[models.Model],
    updates: list[tuple[int, dict[str, Any]]],
    *,
    batch: int = 1000,
    distinct_limit: int = 200,
) -> None:
    """Write the changed fields of existing rows, field by field.

    Rows that get the same new value share one ``UPDATE ... WHERE id IN (...)`` (a new
    class for a whole class, a flag, a whole-number score); a field with many distinct
    new values (names, descriptions) goes through ``bulk_update`` for that field alone.
    ``bulk_update`` builds a CASE per row and field, about 0.3 ms each: grouping keeps
    a school-year roll-over or a re-graded term at seconds, not minutes.
    """
    by_field: dict[str, dict[Any, list[int]]] = defaultdict(lambda: defaultdict(list))
    for pk, changes in updates:
        for field, value in changes.items():
            by_field[field][value].append(pk)
    manager = model._default_manager
    for field, groups in by_field.items():
        if len(groups) <= distinct_limit:
            for value, pks in groups.items():
                for start in range(0, len(pks), batch):
                    manager.filter(pk__in=pks[start : start + batch]).update(**{field: value})
        else:
            rows = [model(pk=pk, **{field: value}) for value, pks in groups.items() for pk in pks]
            manager.bulk_update(rows, [field], batch_size=batch)


class ImportKind:
    """What one kind of import reads and how it matches and writes its records."""

    name: ClassVar[str]
    label: ClassVar[str | Promise]
    roles: ClassVar[frozenset[str]]
    needs_term: ClassVar[bool] = True
    columns: ClassVar[tuple[Column, ...]]
    # Either of these columns names the student (enrolments and grades).
    student_columns: ClassVar[tuple[str, ...]] = ()
    template_name: ClassVar[str] = ""

    def columns_for(self, headers: list[str]) -> tuple[Column, ...]:
        """The columns to read from a file with this header row: all of them, unless a
        kind accepts several layouts and picks one by the header."""
        return self.columns

    @property
    def template_headers(self) -> list[str]:
        """The header row of the kind's empty template."""
        return [column.header for column in self.columns]

    def score(self, headers: list[str]) -> int:
        """How many of this kind's column names a header row holds."""
        names = {name for column in self.columns for name in column.names}
        return sum(1 for header in headers if header in names)

    def check(self, row: Row, columns: dict[str, str], context: Context, report: Report) -> None:
        """Checks across the cells of one row that need no database; none by default."""

    def plan(self, rows: list[Row], columns: dict[str, str], context: Context, report: Report):
        raise NotImplementedError

    def write(self, plan, context: Context, report: Report, progress: Progress) -> None:
        raise NotImplementedError


def read(
    kind: ImportKind,
    stream: BinaryIO,
    context: Context,
    report: Report,
    progress: Progress,
) -> tuple[list[Row], dict[str, str]]:
    """The file's rows with parsed values (rows with a bad cell left out), and the
    header each present column has in the file, by field."""
    try:
        table = open_table(stream, score=kind.score, name=report.file_name)
    except FileProblem as problem:
        report.problem(0, "", problem.code)
        return [], {}
    report.info["sheet"] = table.sheet
    report.info["encoding"] = table.encoding
    present: list[tuple[Column, int]] = []
    taken: set[int] = set()
    for column in kind.columns_for(table.headers):
        index = next(
            (i for i, h in enumerate(table.headers) if h in column.names and i not in taken),
            None,
        )
        if index is not None:
            taken.add(index)
            present.append((column, index))
        elif column.required:
            report.problem(table.header_row, column.header, "missing_column", column=column.header)
    headers = {column.field: table.headers[index] or column.header for column, index in present}
    if kind.student_columns and not any(
        column.header in kind.student_columns for column, _index in present
    ):
        report.problem(table.header_row, "/".join(kind.student_columns), "missing_student_column")
    report.info["ignored_columns"] = [
        header for i, header in enumerate(table.headers) if header and i not in taken
    ]
    if not report.clean:
        return [], headers
    try:
        rows = list(_parsed(kind, table, present, headers, context, report, progress))
    except UNREADABLE:
        report.problem(0, "", "file_unreadable")
        return [], headers
    if report.rows == 0:
        report.problem(table.header_row, "", "no_rows")
    return rows, headers


def _parsed(
    kind: ImportKind,
    table: Table,
    present: list[tuple[Column, int]],
    headers: dict[str, str],
    context: Context,
    report: Report,
    progress: Progress,
) -> Iterator[Row]:
    student_fields = [index for column, index in present if column.header in kind.student_columns]
    student_header = next(
        (headers[c.field] for c, _i in present if c.header in kind.student_columns), ""
    )
    for number, cells in table.rows:
        report.rows += 1
        if report.rows % 500 == 0:
            progress(table.done())
        if cells is None:
            report.problem(number, "", "cell_too_large", max=CSV_FIELD_LIMIT)
            continue
        parsed: dict[str, Any] = {}
        bad = False
        width = len(cells)
        for column, index in present:
            cell = cells[index] if index < width else None
            if cell is None or (type(cell) is str and not values.text(cell)):
                if column.required:
                    report.problem(number, headers[column.field], "required")
                    bad = True
                else:
                    parsed[column.field] = column.empty
                continue
            if type(cell) is str:
                if "\ufffd" in cell:  # undecodable bytes (CSV)
                    report.problem(number, headers[column.field], "encoding")
                    bad = True
                    continue
                found = forbidden_character(values.text(cell), multiline=column.multiline)
                if found:
                    report.problem(
                        number, headers[column.field], f"text_{found.kind}", code=found.code_point
                    )
                    bad = True
                    continue
            try:
                parsed[column.field] = column.parse(cell)
            except CellError as error:
                report.problem(number, headers[column.field], error.code, **error.params)
                bad = True
        if student_fields and all(
            values.is_empty(cells[i] if i < len(cells) else None) for i in student_fields
        ):
            report.problem(number, student_header, "required")
            bad = True
        row = Row(number, parsed)
        if not bad:
            kind.check(row, headers, context, report)
            bad = number in report.bad_rows
        if not bad:
            yield row
