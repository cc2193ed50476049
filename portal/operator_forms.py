"""The platform operator's forms: a new school with its first administrator, a suspension."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.platform import REASON_MAX
from portfolio.forms import Form


class SchoolCreateForm(Form):
    code = forms.RegexField(
        label=_("School code"),
        regex=r"^\d{6}\Z",
        max_length=6,
        help_text=_("The 6 digits the Ministry of Education gives the school."),
        error_messages={"invalid": _("A school code is 6 digits.")},
    )
    name = forms.CharField(label=_("School name"), max_length=100)
    name_en = forms.CharField(label=_("English name (optional)"), max_length=150, required=False)
    continuing = forms.BooleanField(
        label=_("The school has a continuing-education division"), required=False
    )
    admin_email = forms.EmailField(
        label=_("First school administrator's e-mail"),
        help_text=_(
            "A new account gets a link to set its password; an existing account with this "
            "address gets the role and a link to sign in."
        ),
    )


class SuspendForm(Form):
    reason = forms.CharField(
        label=_("Reason for the suspension"),
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept in the school's audit log; the school's administrators see it."),
        error_messages={"required": _("Give the reason for the suspension.")},
    )
