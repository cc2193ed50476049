"""Forms of one course's enrolments: add a student, edit one enrolment's grade."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from portfolio.forms import Form
from records.models import CourseEnrolment
from records.services.course_enrolments import COUNTS_CREDIT_CODES, DESCRIPTION_MAX

YES, NO = "1", "0"
FLAG_CHOICES = [("", _("Unknown")), (YES, _("Yes")), (NO, _("No"))]


def _flag(value: str) -> bool:
    return value == YES


def flag_initial(value: bool | None) -> str:
    return "" if value is None else (YES if value else NO)


class EnrolmentAddForm(Form):
    student_number = forms.CharField(
        label=_("Student number (學號)"),
        max_length=20,
        help_text=_("A student of this school whose enrolment status is enrolled."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


def _score_field(label, help_text) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=False,
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=100,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )


def _flag_field(label) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label, choices=FLAG_CHOICES, coerce=_flag, empty_value=None, required=False
    )


class GradeForm(Form):
    score = _score_field(
        _("Term score (學期學業成績)"),
        _("0 to 100, at most 2 decimals. Leave empty while there is no grade yet."),
    )
    passed = _flag_field(_("Passed (及格)"))
    makeup_score = _score_field(
        _("Make-up score (補考成績)"), _("Optional: 0 to 100, at most 2 decimals.")
    )
    makeup_passed = _flag_field(_("Make-up passed (補考及格)"))
    counts_credit = forms.ChoiceField(
        label=_("Credit counted, code (是否採計學分)"),
        choices=[("", _("Not given")), *((code, code) for code in COUNTS_CREDIT_CODES)],
        required=False,
        help_text=_("Optional: 1, 2 or 3, as the central database codes it."),
    )
    description = forms.CharField(
        label=_("Qualitative description (質性文字描述)"),
        max_length=DESCRIPTION_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": DESCRIPTION_MAX}),
        help_text=_("Optional, at most 500 characters."),
    )

    @staticmethod
    def initial_for(enrolment: CourseEnrolment) -> dict[str, Any]:
        return {
            "score": enrolment.score,
            "passed": flag_initial(enrolment.passed),
            "makeup_score": enrolment.makeup_score,
            "makeup_passed": flag_initial(enrolment.makeup_passed),
            "counts_credit": enrolment.counts_credit,
            "description": enrolment.description,
        }
