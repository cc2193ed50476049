"""The offices' roster forms: which roster to build, and why a submitted one is reopened."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.acting import ActingContext
from portfolio.forms import Form, choice_field
from portfolio.models import SchoolYear
from submissions.services.rosters import KINDS_BY_KEY, RosterKind, kinds_for


class BuildForm(Form):
    """A roster the acting office submits, and for a term roster the term of the year."""

    kind = forms.ChoiceField(label=_("Roster"))
    term = forms.TypedChoiceField(label=_("Term"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, acting: ActingContext, school_year: SchoolYear, **kwargs):
        super().__init__(*args, **kwargs)
        self.terms = {t.pk: t for t in school_year.terms.all()}
        choice_field(self, "kind").choices = [
            (kind.key, kind.title) for kind in kinds_for(acting.role)
        ]
        choice_field(self, "term").choices = [(pk, t.label) for pk, t in self.terms.items()]

    def clean_kind(self) -> RosterKind:
        return KINDS_BY_KEY[self.cleaned_data["kind"]]

    def clean(self):
        data = super().clean()
        kind: RosterKind | None = data.get("kind")
        term_pk = data.get("term")
        if kind is None:
            return data
        if kind.yearly:
            data["term"] = None
        elif term_pk is None:
            self.add_error("term", _("Choose the term of this roster."))
        else:
            data["term"] = self.terms[term_pk]
        return data


class ReopenForm(Form):
    reason = forms.CharField(
        label=_("Why the roster is reopened"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "The students' items in it become free to change, and the roster must be built "
            "and submitted again. The reason is kept in the audit log."
        ),
    )
