from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from portfolio.forms import Form, choice_field, date_field, model_choice_field
from portfolio.models import School
from records.models import Gender, SchoolClass, Student
from records.services.corrections import MESSAGE_MAX, OFFICE_VALUES, REPLY_MAX, TOPICS


def _topic_choices() -> list[tuple[str, str]]:
    return [
        (
            topic.key,
            _("%(topic)s — %(office)s")
            % {"topic": topic.label, "office": Role(topic.office).label},
        )
        for topic in TOPICS
    ]


class CorrectionRequestForm(Form):
    about = forms.ChoiceField(
        label=_("What is it about?"),
        choices=_topic_choices,
        widget=forms.RadioSelect,
        help_text=_("This decides which office receives your request."),
    )
    topic = forms.CharField(
        label=_("What is wrong (in a few words)"),
        max_length=100,
        help_text=_("For example: my date of birth; the grade of English in term 1."),
    )
    message = forms.CharField(
        label=_("Details"),
        max_length=MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What the record says now and what it should say."),
    )


class CorrectionResolveForm(Form):
    reply = forms.CharField(
        label=_("Reply to the student"),
        max_length=REPLY_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("The student reads this. Say what was corrected, or why nothing was."),
    )


class CorrectionForwardForm(Form):
    office = forms.ChoiceField(label=_("Office in charge"))

    def __init__(self, *args, current: str, **kwargs):
        super().__init__(*args, **kwargs)
        choice_field(self, "office").choices = [
            (value, Role(value).label) for value in OFFICE_VALUES if value != current
        ]


class SchoolClassChoiceField(forms.ModelChoiceField):
    """Classes named with their school year, since a record may keep last year's class."""

    def label_from_instance(self, obj: SchoolClass) -> str:
        return _("%(year)s school year · class %(name)s") % {
            "year": obj.school_year.roc_year,
            "name": obj.name,
        }


class StudentBasicDataForm(Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    gender = forms.ChoiceField(
        label=_("Gender"), choices=[("", _("Not recorded")), *Gender.choices], required=False
    )
    birth_date = date_field(_("Date of birth"), required=False)
    school_class = SchoolClassChoiceField(
        label=_("Class"), queryset=SchoolClass.objects.none(), required=False
    )
    seat_number = forms.IntegerField(
        label=_("Seat number"), min_value=1, max_value=99, required=False
    )
    department_code = forms.CharField(
        label=_("Department/program code (科/班/學程別代碼)"), max_length=10, required=False
    )
    national_id = forms.CharField(
        label=_("New national ID"),
        max_length=10,
        required=False,
        help_text=_(
            "Leave empty to keep the national ID on record. Enter a number only to replace it: "
            "it is checked (check digit, not used by another student) before it is saved."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, school: School, division: str, student: Student, **kwargs):
        super().__init__(*args, **kwargs)
        classes = SchoolClass.objects.filter(school=school, division=division)
        if student.school_class_id:
            classes = classes | SchoolClass.objects.filter(pk=student.school_class_id)
        field = model_choice_field(self, "school_class")
        field.queryset = classes.select_related("school_year").order_by(
            "-school_year__roc_year", "grade", "name"
        )
        field.empty_label = _("No class")
        if student.national_id:
            self.fields["national_id"].help_text = _(
                "On record: %(masked)s. Leave empty to keep it; enter a number only to "
                "replace it (it is checked before it is saved)."
            ) % {"masked": student.national_id_masked}

    @staticmethod
    def initial_for(student: Student) -> dict:
        return {
            "name": student.name,
            "gender": student.gender,
            "birth_date": student.birth_date,
            "school_class": student.school_class_id,
            "seat_number": student.seat_number,
            "department_code": student.department_code,
        }
