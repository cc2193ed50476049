"""The form of the simulated central database's pages: an instruction for the next
receipts."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from centralsim.models import TweakAction
from portfolio.forms import Form
from portfolio.lib import national_id
from records.services.student_records import national_id_problem_message
from submissions.central.receipt import ROOTS


class TweakForm(Form):
    national_id = forms.CharField(
        label=_("National ID of the student"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=_("As the school sent it in its rosters, such as A123456789."),
    )
    action = forms.ChoiceField(
        label=_("What the simulation does"),
        choices=TweakAction.choices,
        initial=TweakAction.DROP,
        widget=forms.RadioSelect,
    )
    root = forms.ChoiceField(
        label=_("Kind of receipt file (optional)"),
        choices=[("", _("The first kind where the student has lines")), *((r, r) for r in ROOTS)],
        required=False,
    )

    def clean_national_id(self) -> str:
        value = self.cleaned_data["national_id"]
        problem = national_id.problem(value)
        if problem is not None:
            raise ValidationError(national_id_problem_message(problem))
        return national_id.normalize(value)
