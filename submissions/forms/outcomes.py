"""Forms of the student's course-outcome pages.

They only carry what was typed and chosen: the limits (description length, file types and
sizes, window, cap) are decided by the services, whose messages the views put next to the
fields. The fields say the school's limits in words and give the browser hints (``accept``,
the counter's maximum) so a student rarely meets a refusal at all.
"""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import ModelChoiceIterator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portfolio.forms import Form
from portfolio.models import SchoolPolicy
from records.models import CourseEnrolment
from submissions.files import TYPE_LABELS, format_size, human_list, mb_to_bytes
from submissions.services.outcomes import TITLE_MAX

# What the file pickers offer (extensions and types), per accepted extension.
ACCEPT = {
    "pdf": ".pdf,application/pdf",
    "jpg": ".jpg,.jpeg,image/jpeg",
    "png": ".png,image/png",
    "mp3": ".mp3,audio/mpeg",
    "mp4": ".mp4,video/mp4",
}


def file_rule(types: list[str], max_mb: int) -> str:
    """ "PDF, JPG or PNG, up to 4 MB": what a file field accepts, in words."""
    return gettext("%(types)s, up to %(size)s") % {
        "types": human_list([TYPE_LABELS.get(t, t.upper()) for t in types]),
        "size": format_size(mb_to_bytes(max_mb)),
    }


def _accept(types: list[str]) -> str:
    return ",".join(ACCEPT[t] for t in types if t in ACCEPT)


def setup_text_fields(
    form: forms.Form, enrolments: list[CourseEnrolment], policy: SchoolPolicy
) -> None:
    """The courses to choose from, and the limits of the title and the description."""
    field = form.fields["enrolment"]
    assert isinstance(field, CourseChoice)
    field.listed = list(enrolments)
    form.fields["title"].help_text = gettext(
        "At most %(max)s characters. For example: Measuring g with a pendulum."
    ) % {"max": TITLE_MAX}
    limit = policy.short_description_max
    description = form.fields["description"]
    description.help_text = gettext(
        "What the work is and what you did, in at most %(max)s characters (成果簡述)."
    ) % {"max": limit}
    # The live counter (static/js/upload.js) reads this. No maxlength: pasting a longer text
    # is not cut off silently; the counter says how much to remove.
    description.widget.attrs.update(
        {
            "data-counter-max": limit,
            # The script's words, in the page's language ({n} is the number).
            "data-counter-left": gettext("{n} characters left"),
            "data-counter-left-one": gettext("1 character left"),
            "data-counter-over": gettext("{n} characters too many"),
            "data-counter-over-one": gettext("1 character too many"),
        }
    )


def setup_file_fields(form: forms.Form, policy: SchoolPolicy) -> None:
    """Each file field's types and size limit, in words and as hints for the browser."""
    for name, types, max_mb in (
        ("document", policy.document_types, policy.document_max_mb),
        ("media", policy.media_types, policy.media_max_mb),
    ):
        field = form.fields[name]
        field.help_text = file_rule(types, max_mb)
        field.widget.attrs.update({"accept": _accept(types), "data-max-bytes": mb_to_bytes(max_mb)})


class _Listed(ModelChoiceIterator):
    """A CourseChoice's options: the enrolments the page has read, in their order."""

    field: "CourseChoice"

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for enrolment in self.field.listed:
            yield self.choice(enrolment)

    def __len__(self) -> int:
        return len(self.field.listed) + (self.field.empty_label is not None)

    def __bool__(self) -> bool:
        return self.field.empty_label is not None or bool(self.field.listed)


class CourseChoice(forms.ModelChoiceField):
    """One of the student's courses open for upload: offered and checked from the list of
    enrolments (``listed``, loaded with their terms) the page already has, with no query of
    its own. The service checks the enrolment again."""

    iterator = _Listed
    listed: list[CourseEnrolment] = []

    def label_from_instance(self, obj: CourseEnrolment) -> str:
        term = obj.course.term
        return gettext("%(course)s · %(year)s school year, term %(term)s") % {
            "course": obj.course.name,
            "year": term.school_year.roc_year,
            "term": term.number,
        }

    def to_python(self, value: Any) -> CourseEnrolment | None:
        if value in self.empty_values:
            return None
        chosen = next((e for e in self.listed if str(e.pk) == str(value)), None)
        if chosen is None:
            raise ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": value},
            )
        return chosen


class OutcomeTextForm(Form):
    """Course, title and short description: the part of an outcome the student types."""

    enrolment = CourseChoice(
        label=_("Course"),
        queryset=CourseEnrolment.objects.none(),
        empty_label=_("Choose the course"),
        error_messages={
            "required": _("Choose the course this outcome comes from."),
            "invalid_choice": _(
                "Choose one of your credited courses of a term whose upload window is open."
            ),
        },
    )
    title = forms.CharField(
        label=_("Title"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    description = forms.CharField(
        label=_("Short description"),
        required=False,
        strip=False,  # the service trims and counts, so the count matches the message
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(
        self, *args, enrolments: list[CourseEnrolment], policy: SchoolPolicy, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        setup_text_fields(self, enrolments, policy)


class OutcomeFilesForm(Form):
    """A document and/or a media file, with the school's types and sizes next to each."""

    document = forms.FileField(label=_("Document"), required=False)
    # A field named like Form.media: the form metaclass moves it out of the class.
    media = forms.FileField(  # type: ignore[assignment]
        label=_("Media file"), required=False
    )

    def __init__(self, *args, policy: SchoolPolicy, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        setup_file_fields(self, policy)


class OutcomeUploadForm(OutcomeTextForm, OutcomeFilesForm):
    """The whole upload: course, title, description, then the files (in this order, so the
    text fields arrive before a file that may be cut off for being too large)."""

    field_order = ["enrolment", "title", "description", "document", "media"]

    def __init__(
        self, *args, enrolments: list[CourseEnrolment], policy: SchoolPolicy, **kwargs
    ) -> None:
        forms.Form.__init__(self, *args, **kwargs)
        setup_text_fields(self, enrolments, policy)
        setup_file_fields(self, policy)
