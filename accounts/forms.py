from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import UNIT_ROLES, Division, Membership, Role, User
from portfolio.forms import Form, date_field, model_choice_field


class MemberCreateForm(Form):
    username = forms.RegexField(
        label=_("Username"),
        max_length=150,
        regex=r"^[\w.@+-]+\Z",
        error_messages={"invalid": _("Use letters, digits and . @ + - _ only.")},
    )
    name = forms.CharField(label=_("Full name"), max_length=100)
    email = forms.EmailField(label=_("E-mail (optional)"), required=False)
    password = forms.CharField(
        label=_("Initial password"),
        widget=forms.PasswordInput(render_value=True),
        help_text=_("At least 8 characters, not only digits, not a common password."),
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    division = forms.ChoiceField(label=_("Division"), choices=Division.choices)


class MemberEditForm(Form):
    name = forms.CharField(label=_("Full name"), max_length=100)
    email = forms.EmailField(label=_("E-mail (optional)"), required=False)


class PasswordSetForm(Form):
    password = forms.CharField(
        label=_("New password"),
        widget=forms.PasswordInput,
        help_text=_("At least 8 characters, not only digits, not a common password."),
    )


class MembershipAddForm(Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    division = forms.ChoiceField(label=_("Division"), choices=Division.choices)


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user: User) -> str:
        return f"{user.name or user.username} ({user.username})"


class DeputyForm(Form):
    role = forms.ChoiceField(label=_("Unit"), choices=[(r.value, r.label) for r in UNIT_ROLES])
    division = forms.ChoiceField(label=_("Division"), choices=Division.choices)
    principal = MemberChoiceField(label=_("Acts for"), queryset=User.objects.none())
    deputy = MemberChoiceField(label=_("Deputy"), queryset=User.objects.none())
    order = forms.IntegerField(
        label=pgettext_lazy("deputy list", "Order"), min_value=1, max_value=20, initial=1
    )
    starts_on = date_field(_("From"))
    ends_on = date_field(_("Until"))

    def __init__(self, *args, school, **kwargs):
        super().__init__(*args, **kwargs)
        staff = User.objects.filter(
            pk__in=Membership.objects.active()
            .filter(school=school)
            .exclude(role=Role.STUDENT)
            .values("user")
        ).order_by("name", "username")
        model_choice_field(self, "principal").queryset = staff
        model_choice_field(self, "deputy").queryset = staff
