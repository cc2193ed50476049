"""The student's selection form: the ids ticked of each kind; the service decides the rest."""

from django import forms
from django.utils.translation import gettext_lazy as _

from portfolio.forms import Form, choice_field
from submissions.services.selection import SelectionState


class SelectionForm(Form):
    outcomes = forms.TypedMultipleChoiceField(
        label=_("Course outcomes"), coerce=int, required=False
    )
    performances = forms.TypedMultipleChoiceField(
        label=_("Diverse performances"), coerce=int, required=False
    )

    def __init__(self, *args, state: SelectionState, **kwargs):
        super().__init__(*args, **kwargs)
        choice_field(self, "outcomes").choices = [(c.pk, str(c.item)) for c in state.outcomes]
        choice_field(self, "performances").choices = [
            (c.pk, str(c.item)) for c in state.performances
        ]
