"""Picking one student by number or name, among the students the user may see.

Used by every form of a record about one student (here and in the apps above records).
"""

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from portfolio.forms import Form
from records.models import (
    Student,
)

# Up to this many students in scope, the picker suggests them as one types (a datalist);
# beyond it the page would grow too heavy, and the server still checks what was typed.
PICKER_SUGGESTIONS_MAX = 300


def _choice_text(number: str, name: str, class_name: str | None) -> str:
    return f"{number} {name}" + (f" ({class_name})" if class_name else "")


def _student_choice(student: Student) -> str:
    class_name = student.school_class.name if student.school_class is not None else None
    return _choice_text(student.student_number, student.name, class_name)


class StudentPickerInput(forms.TextInput):
    """A text box for a student number or name, with the students in scope suggested."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs={"autocomplete": "off", "spellcheck": "false", **(attrs or {})})
        self.suggestions: list[str] = []

    def render(self, name, value, attrs=None, renderer=None):
        if not self.suggestions:
            return super().render(name, value, attrs, renderer)
        attrs = dict(attrs or {})
        list_id = f"{attrs.get('id') or name}-suggestions"
        attrs["list"] = list_id
        options = format_html_join(
            "", '<option value="{}"></option>', ((s,) for s in self.suggestions)
        )
        return format_html(
            '{}<datalist id="{}">{}</datalist>',
            super().render(name, value, attrs, renderer),
            list_id,
            options,
        )


class StudentPickField(forms.CharField):
    """Pick one student of ``queryset`` by student number (學號) or by full name.

    Whatever is typed is resolved on the server within the queryset only, so a student
    outside the user's scope cannot be picked, however the request is made.
    """

    widget = StudentPickerInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Student"))
        kwargs.setdefault(
            "help_text", _("Type the student number (學號) or the full name, then pick.")
        )
        super().__init__(max_length=150, **kwargs)
        self.queryset: QuerySet[Student] = Student.objects.none()

    def set_queryset(self, queryset: QuerySet[Student]) -> None:
        self.queryset = queryset.select_related("school_class")
        head = list(
            queryset.order_by("student_number").values_list(
                "student_number", "name", "school_class__name"
            )[: PICKER_SUGGESTIONS_MAX + 1]
        )
        self.widget.suggestions = (
            [_choice_text(*row) for row in head] if len(head) <= PICKER_SUGGESTIONS_MAX else []
        )

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, Student):
            return _student_choice(value)
        return value

    def to_python(self, value: Any) -> Any:
        if isinstance(value, Student):
            return value
        return super().to_python(value)

    def clean(self, value: Any) -> Student | None:
        text = super().clean(value)
        if isinstance(text, Student) or not text:
            return text or None
        number = text.split()[0]
        found = self.queryset.filter(student_number=number).first()
        if found is not None:
            return found
        named = list(self.queryset.filter(name=text).order_by("student_number")[:6])
        if len(named) == 1:
            return named[0]
        if named:
            raise ValidationError(
                _("Several students are named %(name)s (%(numbers)s). Type the student number."),
                params={"name": text, "numbers": ", ".join(s.student_number for s in named)},
                code="ambiguous",
            )
        raise ValidationError(
            _("No student with that number or name is among the students you may pick."),
            code="unknown",
        )


class StudentScopedForm(Form):
    """A form whose first field picks a student among ``students`` (the user's scope)."""

    student = StudentPickField()

    def __init__(self, *args: Any, students: QuerySet[Student], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(StudentPickField, self.fields["student"]).set_queryset(students)
