"""Course consultants' forms: consultation records and the list of their students."""

from django import forms
from django.db.models import F, QuerySet
from django.utils.translation import gettext_lazy as _

from portfolio.forms import datetime_field
from records.forms.lists import STUDENT_ORDER, DateRangeMixin, ListFilterForm
from records.forms.pickers import StudentScopedForm


class ConsultationForm(StudentScopedForm):
    held_at = datetime_field(_("Date and time"))
    place = forms.CharField(label=_("Place"), max_length=100)
    content = forms.CharField(
        label=_("Content"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What was discussed (諮詢內容)."),
    )
    advice = forms.CharField(
        label=_("Advice"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Your advice to the student (諮詢建議), if any."),
    )


class ConsultationFilterForm(DateRangeMixin, ListFilterForm):
    SORTS = {
        "newest": (_("Newest first"), ["-held_at", "-id"]),
        "oldest": (_("Oldest first"), ["held_at", "id"]),
        "student": (_("Class and seat"), [*STUDENT_ORDER, "-held_at"]),
    }
    field_order = ["q", "school_class", "date_from", "date_to", "sort"]

    def filter(self, rows: QuerySet) -> QuerySet:
        return self.dates(rows, "held_at__date")


class ConsultantStudentFilterForm(ListFilterForm):
    STUDENT = ""
    SORTS = {
        "student": (_("Class and seat"), ["school_class__name", "seat_number", "student_number"]),
        "fewest": (
            _("Fewest records first"),
            ["records", "school_class__name", "seat_number", "student_number"],
        ),
        "latest": (
            _("Longest since a record"),
            [F("last_at").asc(nulls_first=True), "school_class__name", "seat_number"],
        ),
    }
