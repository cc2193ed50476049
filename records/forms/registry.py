"""The registry's forms: enrolment changes and finding a student's history."""

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from portfolio.forms import Form, date_field
from records.forms.lists import STUDENT_ORDER, DateRangeMixin, ListFilterForm
from records.forms.pickers import StudentScopedForm
from records.models import (
    EnrolmentChangeKind,
)


class EnrolmentChangeForm(Form):
    kind = forms.ChoiceField(
        label=_("Change"), choices=[("", "---------"), *EnrolmentChangeKind.choices]
    )
    effective_on = date_field(_("Effective date"))
    note = forms.CharField(
        label=_("Note"),
        max_length=200,
        required=False,
        help_text=_("For example the other school, or the document number (文號)."),
    )


class EnrolmentChangeAddForm(StudentScopedForm, EnrolmentChangeForm):
    field_order = ["student", "kind", "effective_on", "note"]


class StudentFindForm(StudentScopedForm):
    pass


class EnrolmentChangeFilterForm(DateRangeMixin, ListFilterForm):
    SORTS = {
        "newest": (_("Newest first"), ["-effective_on", "-id"]),
        "oldest": (_("Oldest first"), ["effective_on", "id"]),
        "student": (_("Class and seat"), [*STUDENT_ORDER, "effective_on", "id"]),
    }
    kind = forms.ChoiceField(
        label=_("Change"),
        choices=[("", _("All changes")), *EnrolmentChangeKind.choices],
        required=False,
    )
    field_order = ["q", "school_class", "kind", "date_from", "date_to", "sort"]

    def filter(self, rows: QuerySet) -> QuerySet:
        if kind := self.get("kind"):
            rows = rows.filter(kind=kind)
        return self.dates(rows, "effective_on")
