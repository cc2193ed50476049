from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from portfolio.lib.numbers import parse_id
from portfolio.lib.text import forbidden_character
from portfolio.models import (
    DOCUMENT_TYPES,
    GRADE_CHOICES,
    MEDIA_TYPES,
    SELECTION_BATCHES,
    SchoolPolicy,
    Term,
    WindowKind,
)

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format=DATETIME_FORMAT, **kwargs)


def date_field(label, **kwargs) -> forms.DateField:
    return forms.DateField(label=label, widget=DateInput(), **kwargs)


def datetime_field(label, **kwargs) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        widget=DateTimeInput(),
        input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M"],
        **kwargs,
    )


def choice_field(form: forms.BaseForm, name: str) -> forms.ChoiceField:
    """The form's field ``name``, as the choice field it is (to set its choices)."""
    return cast(forms.ChoiceField, form.fields[name])


def model_choice_field(form: forms.BaseForm, name: str) -> forms.ModelChoiceField:
    """The form's field ``name``, as the model choice field it is (to set its rows)."""
    return cast(forms.ModelChoiceField, form.fields[name])


class SchoolYearChoiceField(forms.ModelChoiceField):
    """School years named by their ROC number alone (115), as a select lists them."""

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.roc_year)


if TYPE_CHECKING:
    _FormMixin = forms.BaseForm  # what the mixin is mixed into, for the type checker
else:
    _FormMixin = object


class TextRules(_FormMixin):
    """Every text a form receives, whatever its field, holds no control character and no
    bidirectional control (portfolio/lib/text.py); a tab or line break only in a multi-line
    field (a Textarea). The reason goes next to the field (next to the form for a hidden
    one), so the row is never saved and an export of it never fails.

    Every form of the project inherits this, through ``Form`` and ``ModelForm`` below
    (tests/test_form_input.py checks).
    """

    def full_clean(self) -> None:
        super().full_clean()
        if not self.is_bound or (self.empty_permitted and not self.has_changed()):
            return
        for name, field in self.fields.items():
            if field.disabled:
                continue
            value = self[name].data
            multiline = isinstance(field.widget, forms.Textarea)
            for text in value if isinstance(value, list | tuple) else [value]:
                found = isinstance(text, str) and forbidden_character(text, multiline=multiline)
                if found:
                    self.add_error(None if field.widget.is_hidden else name, found.message)
                    break


class Form(TextRules, forms.Form):
    pass


class ModelForm(TextRules, forms.ModelForm):
    pass


class ModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Django's, refusing a value that is no id before it reaches the database: the
    ``pk__in`` lookup it makes has no overflow guard, so a 25-digit value would end in an
    OverflowError (SQLite) or a DataError (PostgreSQL). Every multiple choice of model rows
    in the project is one of these (tests/test_form_input.py checks)."""

    def _check_values(self, value):
        if self.to_field_name is None and isinstance(
            self.queryset.model._meta.pk, models.IntegerField
        ):
            for pk in value if isinstance(value, list | tuple) else ():
                if parse_id(str(pk)) is None:
                    raise ValidationError(
                        self.error_messages["invalid_pk_value"],
                        code="invalid_pk_value",
                        params={"pk": pk},
                    )
        return super()._check_values(value)


def apply_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Attach a service's ValidationError to the form fields it names."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


class SchoolYearForm(Form):
    roc_year = forms.IntegerField(label=_("School year (ROC)"), min_value=100, max_value=200)
    term1_starts_on = date_field(_("Term 1: first day"))
    term1_closing_day = date_field(_("Term 1: closing day (休業式)"))
    term1_ends_on = date_field(_("Term 1: last day"))
    term2_starts_on = date_field(_("Term 2: first day"))
    term2_closing_day = date_field(_("Term 2: closing day (休業式)"))
    term2_ends_on = date_field(_("Term 2: last day"))

    def terms(self) -> list[dict]:
        data = self.cleaned_data
        return [
            {
                "number": n,
                "starts_on": data[f"term{n}_starts_on"],
                "closing_day": data[f"term{n}_closing_day"],
                "ends_on": data[f"term{n}_ends_on"],
            }
            for n in (1, 2)
        ]


class TermForm(Form):
    starts_on = date_field(_("First day"))
    closing_day = date_field(_("Closing day (休業式)"))
    ends_on = date_field(_("Last day"))


class WindowForm(Form):
    term = forms.ModelChoiceField(label=_("Term"), queryset=Term.objects.none())
    kind = forms.ChoiceField(label=_("Kind"), choices=WindowKind.choices)
    grade = forms.TypedChoiceField(
        label=_("Grade"),
        choices=[("", _("All grades")), *GRADE_CHOICES],
        coerce=int,
        empty_value=None,
        required=False,
    )
    starts_at = datetime_field(_("Opens (date and time)"))
    ends_at = datetime_field(_("Closes (date and time)"))
    self_check_on = date_field(_("Self-check date"), required=False)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
    batch = forms.TypedChoiceField(
        label=_("Batch (梯次)"),
        choices=[("", _("No batch")), *SELECTION_BATCHES],
        coerce=int,
        empty_value=None,
        required=False,
        help_text=_(
            "Grade 12's selection windows only: the first or second batch, each sending its "
            "own rosters to the central database."
        ),
    )

    def __init__(self, *args, school, **kwargs):
        super().__init__(*args, **kwargs)
        model_choice_field(self, "term").queryset = Term.objects.filter(
            school=school
        ).select_related("school_year")


class PolicyForm(ModelForm):
    document_types = forms.MultipleChoiceField(
        label=_("Document types"), choices=DOCUMENT_TYPES, widget=forms.CheckboxSelectMultiple
    )
    media_types = forms.MultipleChoiceField(
        label=_("Media types"), choices=MEDIA_TYPES, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = SchoolPolicy
        fields = [
            "outcome_upload_cap_per_term",
            "performance_upload_cap_per_year",
            "outcome_selection_cap",
            "performance_selection_cap",
            "document_types",
            "document_max_mb",
            "media_types",
            "media_max_mb",
            "short_description_max",
            "staff_require_2fa",
        ]
