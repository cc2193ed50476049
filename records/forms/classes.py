from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import MemberChoiceField
from accounts.models import Membership, Role, User
from portfolio.forms import Form, ModelMultipleChoiceField, model_choice_field


class MemberMultipleChoiceField(ModelMultipleChoiceField):
    def label_from_instance(self, user: User) -> str:
        return f"{user.name or user.username} ({user.username})"


def _members(school, role):
    return User.objects.filter(
        pk__in=Membership.objects.active().filter(school=school, role=role).values("user")
    ).order_by("name", "username")


class ClassStaffForm(Form):
    homeroom_teacher = MemberChoiceField(
        label=_("Homeroom teacher"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("None yet"),
    )
    consultants = MemberMultipleChoiceField(
        label=_("Course consultants"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("They see the students of this class and write their consultation records."),
    )

    def __init__(self, *args, school, **kwargs):
        super().__init__(*args, **kwargs)
        model_choice_field(self, "homeroom_teacher").queryset = _members(school, Role.HOMEROOM)
        model_choice_field(self, "consultants").queryset = _members(school, Role.CONSULTANT)
