"""Forms of the registry's extension pages: the grant, and the list's filter."""

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from portfolio.forms import Form, datetime_field, model_choice_field
from portfolio.models import School, Term
from records.models import Student
from submissions.models import ExtensionKind, WindowExtension
from submissions.services import extensions as extension_services


class ExtensionForm(Form):
    student_number = forms.CharField(
        label=_("Student number"),
        max_length=20,
        help_text=_("The student's number as on the enrolment record (學號)."),
    )
    term = forms.ModelChoiceField(
        label=_("Term"),
        queryset=Term.objects.none(),
        help_text=_("The term whose window opens again."),
    )
    kind = forms.ChoiceField(
        label=_("Window"), choices=ExtensionKind.choices, initial=ExtensionKind.OUTCOME_UPLOAD
    )
    ends_at = datetime_field(
        _("Closes (date and time, Taiwan time)"),
        help_text=_("It opens now and closes at this time, at most 60 days from now."),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=extension_services.REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Why this window opens again for this student; kept in the audit trail. For the "
            "selection, the student sees it too."
        ),
    )

    def __init__(self, *args, school: School, students: QuerySet[Student], **kwargs):
        super().__init__(*args, **kwargs)
        self.students = students
        model_choice_field(self, "term").queryset = Term.objects.filter(
            school=school
        ).select_related("school_year")

    def clean_student_number(self) -> str:
        number = self.cleaned_data["student_number"].strip()
        student = self.students.filter(student_number=number).first()
        if student is None:
            raise forms.ValidationError(
                _("No student of your division has the student number %(number)s."),
                params={"number": number},
            )
        self.cleaned_data["student"] = student
        return number


STATE_IN_FORCE = "in_force"
STATE_ENDED = "ended"


class ExtensionFilterForm(Form):
    state = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[
            ("", _("All")),
            (STATE_IN_FORCE, _("In force")),
            (STATE_ENDED, _("Ended")),
        ],
    )
    q = forms.CharField(label=_("Student number or name"), required=False, max_length=100)

    def apply(self, extensions: QuerySet[WindowExtension], now) -> QuerySet[WindowExtension]:
        if not self.is_valid():
            return extensions
        state = self.cleaned_data["state"]
        if state == STATE_IN_FORCE:
            extensions = extension_services.in_force_at(extensions, now)
        elif state == STATE_ENDED:
            extensions = extension_services.ended_at(extensions, now)
        if q := self.cleaned_data["q"].strip():
            extensions = extensions.filter(
                Q(student__student_number=q) | Q(student__name__contains=q)
            )
        return extensions
