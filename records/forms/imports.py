import os

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portfolio.forms import Form, choice_field, model_choice_field
from portfolio.models import School, Term
from records.imports import KINDS, kinds_for
from records.services.imports import UPLOAD_EXTENSIONS

MAX_UPLOAD_MB = 30


def _file_help() -> str:
    return gettext(
        "The first row names the columns, as the central database does. CSV in "
        "UTF-8 or Big5. At most %(mb)s MB."
    ) % {"mb": MAX_UPLOAD_MB}


class ImportForm(Form):
    kind = forms.ChoiceField(label=_("What the file holds"), widget=forms.RadioSelect)
    term = forms.ModelChoiceField(
        label=_("Term"),
        queryset=Term.objects.none(),
        required=False,
        help_text=_(
            "Courses, enrolments, grades, cadre posts, club memberships and attendance "
            "belong to a term. For students it picks the school year of their classes "
            "(empty: the current school year)."
        ),
    )
    file = forms.FileField(
        label=_("File (xlsx or CSV)"),
        help_text=lazy(_file_help, str)(),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(UPLOAD_EXTENSIONS)}),
    )

    def __init__(self, *args, school: School, role: str, **kwargs):
        super().__init__(*args, **kwargs)
        kinds = kinds_for(role)
        choice_field(self, "kind").choices = [(kind.name, kind.label) for kind in kinds]
        if len(kinds) == 1:
            self.fields["kind"].initial = kinds[0].name
        terms = (
            Term.objects.filter(school=school)
            .select_related("school_year")
            .order_by("-school_year__roc_year", "-number")
        )
        model_choice_field(self, "term").queryset = terms
        model_choice_field(self, "term").empty_label = _("(none)")
        self.fields["term"].initial = getattr(Term.objects.last_started_for(school), "pk", None)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        extension = os.path.splitext(upload.name or "")[1].lower()
        if extension not in UPLOAD_EXTENSIONS:
            raise forms.ValidationError(_("Upload an Excel workbook (.xlsx) or a CSV file."))
        if upload.size > MAX_UPLOAD_MB * 1024 * 1024:
            raise forms.ValidationError(
                gettext("The file is larger than %(mb)s MB.") % {"mb": MAX_UPLOAD_MB}
            )
        return upload

    def clean(self):
        data = super().clean()
        kind = KINDS.get(data.get("kind") or "")
        if kind is not None and kind.needs_term and not data.get("term"):
            self.add_error("term", _("Choose the term this file belongs to."))
        return data
