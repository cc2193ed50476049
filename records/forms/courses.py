"""Forms of the curriculum office: a course, and the official course-code list file."""

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from portfolio.forms import Form, ModelMultipleChoiceField, model_choice_field
from portfolio.models import GRADE_CHOICES, School, Term
from records.models import Course
from records.services.courses import CODE_LIST_MAX_BYTES, active_teachers


class TeacherChoiceField(ModelMultipleChoiceField):
    def label_from_instance(self, user: User) -> str:
        return f"{user.name or user.username} ({user.username})"


class CourseForm(Form):
    term = forms.ModelChoiceField(label=_("Term"), queryset=Term.objects.none())
    code = forms.CharField(
        label=_("Course code (課程代碼)"),
        max_length=40,
        help_text=_(
            "23 letters and digits from the course-plan platform, for example "
            "108041305H11101A1010101. Positions 4 to 9 are this school's code."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    section = forms.CharField(
        label=_("Section (optional)"),
        max_length=30,
        required=False,
        help_text=Course._meta.get_field("section").help_text,
    )
    name = forms.CharField(label=_("Subject name (科目名稱)"), max_length=100)
    grade = forms.TypedChoiceField(label=_("Grade offered"), choices=GRADE_CHOICES, coerce=int)
    credits = forms.IntegerField(label=_("Credits"), min_value=0, max_value=30)
    teachers = TeacherChoiceField(
        label=_("Teachers"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Active subject teachers of this school. They certify the course outcomes."),
    )

    def __init__(self, *args, school: School, course: Course | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        model_choice_field(self, "term").queryset = Term.objects.filter(
            school=school
        ).select_related("school_year")
        teachers = Q(pk__in=active_teachers(school).values("pk"))
        if course is not None:
            # A teacher who has since lost the role stays listed, so the service can say
            # so instead of the tick silently disappearing.
            teachers |= Q(pk__in=course.teachers.values("pk"))
            self.fields["term"].disabled = True
        model_choice_field(self, "teachers").queryset = User.objects.filter(teachers).order_by(
            "name", "username"
        )

    def clean_code(self) -> str:
        return self.cleaned_data["code"].strip().upper()


class CodeListUploadForm(Form):
    file = forms.FileField(
        label=_("Official course-code list (TXT or CSV)"),
        help_text=_(
            "Exported from the national course-plan platform: one code per line, or a CSV "
            "file with a column headed 課程代碼. UTF-8 or Big5, at most 2 MB."
        ),
        widget=forms.FileInput(attrs={"accept": ".txt,.csv,text/plain,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        name = (upload.name or "").lower()
        if not name.endswith((".txt", ".csv")):
            raise forms.ValidationError(_("Upload a .txt or .csv file."))
        if upload.size > CODE_LIST_MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 2 MB."))
        return upload
