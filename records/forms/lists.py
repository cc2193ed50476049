"""What the filters of the record lists share: a search by student number or name, the
class, a sort, dates; a value that does not check out is ignored, not shown as an error.

Used by the offices' lists here and in the apps above records.
"""

from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from portfolio.forms import Form, choice_field, date_field
from portfolio.models import Term
from records.models import (
    SchoolClass,
)


def terms_field(school, **kwargs) -> forms.ModelChoiceField:
    field = forms.ModelChoiceField(
        queryset=Term.objects.filter(school=school)
        .select_related("school_year")
        .order_by("-school_year__roc_year", "number"),
        **kwargs,
    )
    return field


def code_choices(choices) -> list[tuple[str, str]]:
    """Coded choices shown with their code, as the central tables list them."""
    return [(value, f"{value} {label}") for value, label in choices]


class ListFilterForm(Form):
    """A list's GET filters: every field optional; a value that does not check out is
    ignored rather than shown as an error. ``SORTS`` maps a key to (label, ordering); the
    first is the default."""

    SORTS: dict[str, tuple[Any, list[Any]]] = {}  # orderings: field names or expressions
    STUDENT = "student__"  # path from the listed rows to their student

    q = forms.CharField(label=_("Student number or name"), required=False, max_length=100)
    school_class = forms.ModelChoiceField(
        label=_("Class"),
        queryset=SchoolClass.objects.none(),
        required=False,
        empty_label=_("All classes"),
    )
    sort = forms.ChoiceField(label=_("Sort by"), required=False)

    def __init__(self, data, *, classes: QuerySet[SchoolClass] | list, **kwargs: Any) -> None:
        super().__init__(data, auto_id="filter-%s", **kwargs)
        field = self.fields["school_class"]
        if isinstance(field, forms.ModelChoiceField) and isinstance(classes, QuerySet):
            field.queryset = classes
        choice_field(self, "sort").choices = [
            (key, label) for key, (label, _o) in self.SORTS.items()
        ]

    def get(self, name: str) -> Any:
        """The checked value of ``name``; None when absent or not valid."""
        errors = self.errors  # cleans the form once, on first use
        return None if name in errors else self.cleaned_data.get(name)

    def ordering(self) -> list[str]:
        key = self.get("sort")
        return self.SORTS[key if key in self.SORTS else next(iter(self.SORTS))][1]

    def apply(self, rows: QuerySet) -> QuerySet:
        """Filter ``rows`` by the fields this class knows, then sort them."""
        prefix = self.STUDENT
        if query := (self.get("q") or "").strip():
            rows = rows.filter(
                Q(**{f"{prefix}student_number__icontains": query})
                | Q(**{f"{prefix}name__icontains": query})
            )
        if school_class := self.get("school_class"):
            rows = rows.filter(**{f"{prefix}school_class": school_class})
        return self.filter(rows).order_by(*self.ordering())

    def filter(self, rows: QuerySet) -> QuerySet:
        return rows


class DateRangeMixin(ListFilterForm):
    date_from = date_field(_("From"), required=False)
    date_to = date_field(_("Until"), required=False)

    def dates(self, rows: QuerySet, field: str) -> QuerySet:
        if start := self.get("date_from"):
            rows = rows.filter(**{f"{field}__gte": start})
        if end := self.get("date_to"):
            rows = rows.filter(**{f"{field}__lte": end})
        return rows


STUDENT_ORDER = ["student__school_class__name", "student__seat_number", "student__student_number"]
