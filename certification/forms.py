"""Forms of the certification pages. They check shapes; the services check the rules.

Every item of the queue carries ``o<pk>-seen_at``, the outcome's ``updated_at`` as the page
showed it, whichever button sends it (certify, reject, certify selected): a decision on an
outcome that changed since is refused.
"""

import datetime as dt
from functools import cached_property

from django import forms
from django.template.loader import render_to_string
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
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


REJECT_FIELDS = "certification/_reject_fields.html"
# What the queue renders its one reject form with, to put each item's own in their place: no
# other text of the form holds them.
STAND_IN_PK = 918273645546372819
STAND_IN_SEEN_AT = "seen-at-stand-in"


class QueueRejectForm:
    """An item's reject form as the queue shows it (never bound: a refused reject comes back
    on the reject page, with Django's form): the same HTML as ``RejectForm(pk=pk,
    initial={"seen_at": seen_at})`` renders, its hidden ``seen_at`` and its visible fields
    (``_reject_fields.html``); ``action``, the address its decisions go to (Certify's too).

    The HTML is made when the page's template asks for it, so the one form rendered for the
    page is rendered inside the page (a test client's ``response.context`` starts with the
    page's own context)."""

    def __init__(self, forms: "QueueRejectForms", pk: int, seen_at: dt.datetime, action: str):
        self._forms = forms
        self._pk = pk
        self._seen_at = seen_at
        self.action = action

    @property
    def seen_at(self) -> SafeString:
        return self._forms.seen_at_html(self._pk, self._seen_at)

    @property
    def fields(self) -> SafeString:
        return self._forms.fields_html(self._pk)


class QueueRejectForms:
    """The reject forms of a page of the queue, rendered by Django's form templates once.

    Rendering each of a page's 50 forms (a radio list of the reasons, a text box, labels,
    help text) through the form templates took about half the page's time. The form is
    rendered once per page with a stand-in pk and ``seen_at``, and each item gets that HTML
    with its own prefix and time written in (tests/test_certification_queue_forms.py
    compares the result with Django's rendering of the item's own form).
    """

    _prefix = item_prefix(STAND_IN_PK)

    @cached_property
    def _html(self) -> tuple[str, str]:
        """The stand-in form's hidden ``seen_at`` and visible fields (at the first item)."""
        form = RejectForm(pk=STAND_IN_PK, initial={"seen_at": STAND_IN_SEEN_AT})
        return str(form["seen_at"]), render_to_string(REJECT_FIELDS, {"form": form})

    @staticmethod
    def seen_at_value(seen_at: dt.datetime) -> str:
        """``seen_at`` as its hidden input carries it (as BoundField.value gives it)."""
        field = RejectForm.base_fields["seen_at"]
        return str(field.widget.format_value(field.prepare_value(seen_at)))

    # Django's rendering (escaped there) with the item's own prefix (letters and digits,
    # nothing to escape) and time.

    def seen_at_html(self, pk: int, seen_at: dt.datetime) -> SafeString:
        html = self._html[0].replace(self._prefix, item_prefix(pk))
        html = html.replace(STAND_IN_SEEN_AT, conditional_escape(self.seen_at_value(seen_at)))
        return mark_safe(html)  # noqa: S308

    def fields_html(self, pk: int) -> SafeString:
        return mark_safe(self._html[1].replace(self._prefix, item_prefix(pk)))  # noqa: S308

    def item(self, pk: int, seen_at: dt.datetime, action: str) -> QueueRejectForm:
        return QueueRejectForm(self, pk, seen_at, action)


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
