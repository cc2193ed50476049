"""The school's audit log, for its administrator: every change in words, filtered by who,
what and when, and exported as xlsx with the same filters."""

import json
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from accounts.models import Role
from portal.forms import AuditFilterForm
from portfolio.audit import action_area, action_label
from portfolio.exports import xlsx_response
from portfolio.models import AuditLog

ADMIN = Role.SCHOOL_ADMIN
PAGE_SIZE = 50


def change_lines(changes: Any) -> list[tuple[str, str]]:
    """An entry's changes as (field, text) lines: "old → new" for a change, the value for
    a fact recorded with it (national IDs are stored masked, personal texts as "…")."""
    if not isinstance(changes, dict):
        return [("", _plain(changes))] if changes not in (None, "", {}, []) else []
    lines = []
    for field, value in changes.items():
        if isinstance(value, list) and len(value) == 2:
            text = f"{_plain(value[0])} → {_plain(value[1])}"
        else:
            text = _plain(value)
        lines.append((str(field), text))
    return lines


def _plain(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str | int | float | bool):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _who(entry: AuditLog) -> str:
    if entry.actor is None:
        return _("System")
    name = str(entry.actor)
    if entry.on_behalf_of is not None:
        name = _("%(deputy)s for %(principal)s") % {
            "deputy": name,
            "principal": entry.on_behalf_of,
        }
    return name


@acting_required(ADMIN)
def audit_list(request: ActingRequest) -> HttpResponse:
    filters = AuditFilterForm(request.GET)
    entries = filters.apply(
        AuditLog.objects.filter(school=request.acting.school).select_related(
            "actor", "on_behalf_of"
        )
    ).order_by("-created_at", "-id")
    if request.GET.get("export") == "xlsx":
        return _export(request, entries)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "entry": entry,
            "label": action_label(entry.action),
            "area": area.label if (area := action_area(entry.action)) else "",
            "changes": change_lines(entry.changes),
        }
        for entry in page.object_list
    ]
    return render(
        request, "portal/audit_list.html", {"page": page, "rows": rows, "filters": filters}
    )


def _export(request: ActingRequest, entries: QuerySet[AuditLog]) -> HttpResponse:
    school = request.acting.school
    return xlsx_response(
        filename=f"{school.code}-audit-{timezone.localdate():%Y%m%d}.xlsx",
        sheet=_("Audit log"),
        headers=[_("When"), _("Who"), _("Action"), _("Action code"), _("On"), _("Changes")],
        rows=(
            [
                entry.created_at,
                _who(entry),
                action_label(entry.action),
                entry.action,
                entry.target_repr,
                "\n".join(f"{f}: {t}" if f else t for f, t in change_lines(entry.changes)),
            ]
            for entry in entries.iterator(chunk_size=2000)
        ),
    )
