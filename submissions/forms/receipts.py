"""The registry's receipt import: the school year, the receipt file and its password."""

from django import forms
from django.utils.translation import gettext_lazy as _

from portfolio.forms import Form, choice_field
from portfolio.models import School, SchoolYear

# A receipt of a large school is some megabytes; far more is not a receipt.
MAX_RECEIPT_BYTES = 256 * 1024 * 1024


class YearForm(Form):
    """A school year of the school (its ROC year), the newest first."""

    school_year = forms.TypedChoiceField(label=_("School year"), coerce=int)

    def __init__(self, *args, school: School, **kwargs):
        super().__init__(*args, **kwargs)
        self.years = {
            year.roc_year: year
            for year in SchoolYear.objects.filter(school=school).order_by("-roc_year")
        }
        choice_field(self, "school_year").choices = [(y, str(v)) for y, v in self.years.items()]

    def clean_school_year(self) -> SchoolYear:
        return self.years[self.cleaned_data["school_year"]]


class ReceiptImportForm(YearForm):
    file = forms.FileField(
        label=_("Receipt file (.zip)"),
        help_text=_("The password-protected zip the central database gave the school."),
    )
    password = forms.CharField(
        label=_("Password of the receipt"),
        strip=False,
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text=_("Used to open the file and then forgotten: the platform does not keep it."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_RECEIPT_BYTES:
            raise forms.ValidationError(_("This file is too large to be a receipt."))
        return upload
