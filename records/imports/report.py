"""An import's result as people read it: on the page (``present``) or as text (``as_text``).

Results hold message codes; the sentences are made here, in the active language.
"""

from typing import Any

from django.utils.translation import gettext as _

from records.imports import KINDS
from records.imports.messages import describe

CATEGORIES = ("errors", "changed", "added", "unchanged")


def kind_label(kind: str) -> str:
    found = KINDS.get(kind)
    return str(found.label) if found else kind


def problems(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"row": p["row"] or "", "column": p["column"], "message": describe(p["code"], p["params"])}
        for p in result.get("errors", [])
    ]


def present(result: dict[str, Any]) -> dict[str, Any]:
    """The result with the kind's label and each problem's message, for a template."""
    counts = result.get("counts", {})
    shown = {category: len(result.get(category, [])) for category in CATEGORIES}
    return {
        **result,
        "kind_label": kind_label(result.get("kind", "")),
        "problems": problems(result),
        "more": {
            "errors": max(0, counts.get("errors", 0) - shown["errors"]),
            **{
                category: max(0, counts.get(category, 0) - shown[category])
                for category in ("changed", "added", "unchanged")
            },
        },
        "has_changes": bool(counts.get("added") or counts.get("changed")),
    }


def as_text(result: dict[str, Any], *, verbose: bool = False) -> str:
    """The report the command prints: counts, changes, problems; added and unchanged
    rows listed too when ``verbose``."""
    data = present(result)
    counts = data.get("counts", {})
    lines = [
        " · ".join(
            part
            for part in (
                data["kind_label"],
                data.get("file_name", ""),
                data.get("sheet", ""),
                _("term %(term)s") % {"term": data["term"]} if data.get("term") else "",
                data.get("encoding", ""),
            )
            if part
        ),
        _(
            "Rows: %(rows)s; to add: %(added)s; to change: %(changed)s; unchanged: "
            "%(unchanged)s; problems: %(errors)s in %(bad_rows)s rows."
        )
        % {
            key: counts.get(key, 0)
            for key in ("rows", "added", "changed", "unchanged", "errors", "bad_rows")
        },
    ]
    if data.get("ignored_columns"):
        lines.append(
            _("Columns not used: %(columns)s") % {"columns": ", ".join(data["ignored_columns"])}
        )
    for kind, names in (data.get("created") or {}).items():
        if kind == "classes":
            lines.append(_("Classes created: %(names)s") % {"names": ", ".join(names)})
        elif kind == "clubs":
            lines.append(_("Clubs created: %(names)s") % {"names": ", ".join(names)})
    if data.get("new_clubs") and not data.get("written"):
        lines.append(_("Clubs to create: %(names)s") % {"names": ", ".join(data["new_clubs"])})
    sections = [("changed", _("To change")), ("errors", _("Problems"))]
    if verbose:
        sections = [("added", _("To add")), ("unchanged", _("Unchanged")), *sections]
    for category, title in sections:
        entries = data["problems"] if category == "errors" else data.get(category, [])
        if not entries:
            continue
        lines.append("")
        lines.append(f"{title}:")
        for entry in entries:
            lines.append("  " + _line(category, entry))
        if data["more"][category]:
            lines.append("  " + _("… and %(count)s more.") % {"count": data["more"][category]})
    lines.append("")
    if data.get("written"):
        lines.append(_("Imported."))
    elif not data.get("clean", True):
        lines.append(_("Nothing was imported: correct these rows and import the file again."))
    return "\n".join(lines)


def _line(category: str, entry: dict[str, Any]) -> str:
    where = _("row %(row)s") % {"row": entry["row"]} if entry.get("row") else _("file")
    if category == "errors":
        column = f", {entry['column']}" if entry.get("column") else ""
        return f"{where}{column}: {entry['message']}"
    head = f"{where}: {entry['key']} {entry['label']}".rstrip()
    if category == "changed":
        changes = "; ".join(
            f"{column} {old or '-'} → {new or '-'}" for column, old, new in entry["changes"]
        )
        return f"{head}: {changes}"
    if category == "added" and entry.get("details"):
        details = ", ".join(f"{column} {value}" for column, value in entry["details"])
        return f"{head} ({details})"
    return head
