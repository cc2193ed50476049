"""The counselling office's forms: career exploration records."""

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from portfolio.forms import date_field
from records.forms.lists import STUDENT_ORDER, DateRangeMixin, ListFilterForm
from records.forms.pickers import StudentScopedForm
from records.models import (
    Cluster,
)


class CareerRecordForm(StudentScopedForm):
    held_on = date_field(_("Date"))
    clusters = forms.MultipleChoiceField(
        label=_("Academic clusters explored"),
        choices=Cluster.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Tick one or more of the 18 academic clusters (學群)."),
    )
    content = forms.CharField(
        label=_("Exploration and plans"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )


class CareerFilterForm(DateRangeMixin, ListFilterForm):
    SORTS = {
        "newest": (_("Newest first"), ["-held_on", "-id"]),
        "oldest": (_("Oldest first"), ["held_on", "id"]),
        "student": (_("Class and seat"), [*STUDENT_ORDER, "-held_on"]),
    }
    cluster = forms.ChoiceField(
        label=_("Academic cluster"),
        choices=[("", _("All clusters")), *Cluster.choices],
        required=False,
    )
    field_order = ["q", "school_class", "cluster", "date_from", "date_to", "sort"]

    def filter(self, rows: QuerySet) -> QuerySet:
        if cluster := self.get("cluster"):
            # The codes are stored as a JSON list of strings: match the quoted code, which
            # works the same on SQLite and PostgreSQL.
            rows = rows.filter(clusters__icontains=f'"{cluster}"')
        return self.dates(rows, "held_on")
