"""Homeroom teachers' forms: the roster's filters."""

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from portfolio.forms import choice_field
from portfolio.models import Term
from records.forms.lists import ListFilterForm
from records.models import (
    SchoolClass,
    StudentStatus,
)


class RosterFilterForm(ListFilterForm):
    """The roster's filters; its class and term choices come as lists already loaded, so
    checking and showing them costs no further query."""

    STUDENT = ""
    SORTS = {
        "seat": (_("Seat number"), ["seat_number", "student_number"]),
        "number": (_("Student number"), ["student_number"]),
        "name": (_("Name"), ["name", "student_number"]),
    }
    # The classes come as a list already loaded, not a queryset (see the docstring).
    school_class = forms.TypedChoiceField(  # type: ignore[assignment]
        label=_("Class"), coerce=int, required=False
    )
    term = forms.TypedChoiceField(label=_("Courses of"), coerce=int, required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("", _("All statuses")), *StudentStatus.choices],
        required=False,
    )
    field_order = ["school_class", "term", "q", "status", "sort"]

    def __init__(self, data, *, classes: list[SchoolClass], terms: list[Term], **kwargs):
        super().__init__(data, classes=classes, **kwargs)
        self.classes = {c.pk: c for c in classes}
        self.terms = {t.pk: t for t in terms}
        choice_field(self, "school_class").choices = [(c.pk, c.name) for c in classes]
        choice_field(self, "term").choices = [(t.pk, str(t)) for t in terms]

    def picked_class(self) -> SchoolClass | None:
        return self.classes.get(self.get("school_class"))

    def picked_term(self) -> Term | None:
        return self.terms.get(self.get("term"))

    def filter(self, rows: QuerySet) -> QuerySet:
        if status := self.get("status"):
            rows = rows.filter(status=status)
        return rows
