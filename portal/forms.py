"""The audit log's filters: who, what, when. A value that does not check out is left out
(the page shows the log without that filter) rather than shown as an error."""

import datetime as dt
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portfolio.audit import AREAS
from portfolio.forms import Form, choice_field, date_field
from portfolio.lib.numbers import parse_ids
from portfolio.lib.text import search_text
from portfolio.models import AuditLog

SYSTEM = "system"
PEOPLE = "people"
AREA_PREFIX = "area:"


def action_choices() -> list[tuple[str, Any]]:
    """Every action by area, each area first as a whole ("area:<key>")."""
    choices: list[tuple[str, Any]] = [("", _("Any action"))]
    for area in AREAS.values():
        options = [(f"{AREA_PREFIX}{area.key}", _("All of: %(area)s") % {"area": area.label})]
        options += sorted(
            ((code, str(label)) for code, label in area.actions.items()), key=lambda c: c[1]
        )
        choices.append((str(area.label), options))
    return choices


class AuditFilterForm(Form):
    who = forms.CharField(
        label=_("Person"),
        required=False,
        max_length=150,
        help_text=_("A username or part of a name: who acted, or for whom a deputy acted."),
    )
    by = forms.ChoiceField(
        label=_("Done by"),
        required=False,
        choices=[("", _("Anyone")), (PEOPLE, _("People")), (SYSTEM, _("The system"))],
    )
    action = forms.ChoiceField(label=_("Action"), required=False)
    date_from = date_field(_("From"), required=False)
    date_to = date_field(_("Until"), required=False)

    def __init__(self, data, **kwargs: Any) -> None:
        super().__init__(data, auto_id="filter-%s", **kwargs)
        choice_field(self, "action").choices = action_choices()

    def get(self, name: str) -> Any:
        """The checked value of ``name``; None when absent or not valid."""
        errors = self.errors
        return None if name in errors else self.cleaned_data.get(name)

    def apply(self, entries: QuerySet[AuditLog]) -> QuerySet[AuditLog]:
        if who := search_text(self.get("who")):
            person = (
                Q(actor__username__iexact=who)
                | Q(actor__name__icontains=who)
                | Q(on_behalf_of__username__iexact=who)
                | Q(on_behalf_of__name__icontains=who)
            )
            entries = entries.filter(person)
        if (by := self.get("by")) == SYSTEM:
            entries = entries.filter(actor__isnull=True)
        elif by == PEOPLE:
            entries = entries.filter(actor__isnull=False)
        action = self.get("action") or ""
        if action.startswith(AREA_PREFIX):
            area = AREAS.get(action.removeprefix(AREA_PREFIX))
            entries = entries.filter(action__in=list(area.actions)) if area else entries
        elif action:
            entries = entries.filter(action=action)
        if (start := _start_of(self.get("date_from"))) is not None:
            entries = entries.filter(created_at__gte=start)
        if (end := _start_of(self.get("date_to"), days_after=1)) is not None:
            entries = entries.filter(created_at__lt=end)
        return entries


def _start_of(day: dt.date | None, *, days_after: int = 0) -> dt.datetime | None:
    """Midnight of ``day`` (and ``days_after`` more) in Asia/Taipei, the site's time zone;
    None for no day, or one at the edge of the calendar (the filter is left out)."""
    if day is None:
        return None
    try:
        moment = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
        return (moment + dt.timedelta(days=days_after)).astimezone(dt.UTC)
    except OverflowError:
        return None


class RemindForm(Form):
    """The homeroom teacher's reminder to the students ticked in the class at a glance."""

    what = forms.ChoiceField(
        label=_("Remind them to"),
        choices=[
            ("upload", _("upload course outcomes and diverse performances")),
            ("selection", _("select and confirm what goes to the central database")),
            ("corrections", _("check their basic data and answer open corrections")),
        ],
    )
    message = forms.CharField(
        label=_("A few words of yours (optional)"),
        required=False,
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, students: dict | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.students = students or {}
        self.ticked = parse_ids(self.data.getlist("students")) if self.is_bound else set()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        chosen = [self.students[pk] for pk in sorted(self.ticked) if pk in self.students]
        if not chosen:
            raise forms.ValidationError(_("Tick at least one student of the class to remind."))
        cleaned["students"] = chosen
        return cleaned
