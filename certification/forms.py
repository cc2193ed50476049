"""Forms of the certification pages. They check shapes; the services check the rules.

Every item of the queue carries ``o<pk>-seen_at``, the outcome's ``updated_at`` as the page
showed it, whichever button sends it (certify, reject, certify selected): a decision on an
outcome that changed since is refused.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from certification.services import REASON_TEXT_MAX, RejectionReason, Show
from portfolio.forms import Form, choice_field
from records.models import Course, SchoolClass


def course_label(course: Course) -> str:
    name = f"{course.name} {course.section}" if course.section else course.name
    return f"{name} ({course.term.label})"


def item_prefix(pk: int) -> str:
    return f"o{pk}"


class DecisionForm(Form):
    seen_at = forms.DateTimeField(
        widget=forms.HiddenInput,
        error_messages={
            "required": _("The page was out of date; look at the outcome again."),
            "invalid": _("The page was out of date; look at the outcome again."),
        },
    )

    def __init__(self, *args, pk: int, **kwargs) -> None:
        kwargs["prefix"] = item_prefix(pk)
        super().__init__(*args, **kwargs)


class RejectForm(DecisionForm):
    reason_code = forms.ChoiceField(
        label=_("Reason"),
        choices=RejectionReason.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose the reason for sending the outcome back.")},
    )
    reason_text = forms.CharField(
        label=_("Your words to the student"),
        required=False,
        max_length=REASON_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "What to put right, in a sentence or two. Required for “another reason”. "
            "The student reads it with the reason."
        ),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Several of these sit in the queue's one form: a browser must not refuse to send
        # "certify selected" because an unopened reject form has no reason chosen.
        self.use_required_attribute = False


class QueueFilterForm(Form):
    course = forms.TypedChoiceField(label=_("Course"), coerce=int, required=False)
    school_class = forms.TypedChoiceField(label=_("Class"), coerce=int, required=False)
    show = forms.ChoiceField(label=_("Show"), choices=Show.choices, required=False)

    def __init__(self, *args, courses: list[Course], classes: list[SchoolClass], **kwargs):
        super().__init__(*args, **kwargs)
        choice_field(self, "course").choices = [
            ("", _("All courses")),
            *((c.pk, course_label(c)) for c in courses),
        ]
        choice_field(self, "school_class").choices = [
            ("", _("All classes")),
            *((k.pk, k.name) for k in classes),
        ]

    def filters(self) -> dict:
        """The chosen filters; none when the form is not valid (the page says why)."""
        if not self.is_valid():
            return {"show": Show.AWAITING}
        data = self.cleaned_data
        return {
            "course_id": data["course"] or None,
            "class_id": data["school_class"] or None,
            "show": data["show"] or Show.AWAITING,
        }


class ReopenForm(Form):
    reason = forms.CharField(
        label=_("Why the decision is reopened"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The teacher and the student see it while the outcome awaits certification."),
    )


class ConcernForm(Form):
    text = forms.CharField(
        label=_("Your message"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
