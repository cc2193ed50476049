"""Forms of the diverse-performance pages: the category first, then that category's form.

A performance form is built from the category's entry in
``submissions.performance_categories``: the shared fields under the category's own labels
(a competition's name is "Competition", a cadre post's "Post"), its dates (a period, one
day or none), then its own detail fields, the video link and the files. Forms carry what
was typed; the services decide the rules and their messages go next to the fields.
"""

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portfolio.forms import (
    Form,
    SchoolYearChoiceField,
    choice_field,
    date_field,
    model_choice_field,
)
from portfolio.lib.numbers import parse_int
from portfolio.models import SchoolPolicy, SchoolYear
from records.forms.lists import ListFilterForm
from records.forms.pickers import StudentPickField
from records.models import SchoolClass, Student
from submissions import performance_categories as categories
from submissions.forms.outcomes import setup_file_fields
from submissions.models import Performance, PerformanceCategory, PerformanceSource
from submissions.services.performances import NAME_MAX, STAFF_SOURCES, VIDEO_URL_MAX

FILE_FIELDS = ("document", "media")


def category_choices() -> list[tuple[str, str]]:
    return [(c.code, f"{c.number} {c.label}") for c in categories.CATEGORY_LIST]


class CategoryForm(Form):
    """The first step: which of the ten categories (a GET form, so it works without JS)."""

    category = forms.ChoiceField(
        label=_("Category"),
        help_text=_("The form then asks for what that category records."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["auto_id"] = "pick-%s"
        super().__init__(*args, **kwargs)
        choice_field(self, "category").choices = [("", _("Choose a category")), *category_choices()]


def _label(label: Any, required: bool) -> str:
    """Optional fields say so in their label; the others carry aria-required."""
    return str(label) if required else gettext("%(label)s (optional)") % {"label": label}


def _required_attrs(required: bool) -> dict[str, Any]:
    return {"aria-required": "true"} if required else {}


def with_column(help_text: str | Promise, column: str) -> str:
    """A help text followed by the central database's column name, for readers of another
    language; in Chinese the label already is (about) that name, so it is left out."""
    if (translation.get_language() or "").startswith("zh"):
        return str(help_text)
    return f"{help_text} ({column})" if help_text else column


def detail_form_field(field: categories.DetailField) -> forms.Field:
    """The form field of one detail. Only its shape is fixed here (a list of codes, a date);
    numbers and required values are checked by the service, so that every problem of a
    form is listed at once, in the same words for the pages and the services."""
    attrs = _required_attrs(field.required)
    common: dict[str, Any] = {
        "label": _label(field.label, field.required),
        "required": False,
        "help_text": with_column(field.help_text, field.column),
    }
    if field.type == categories.DATE:
        return date_field(**common)
    if field.type == categories.CHOICE:
        return forms.ChoiceField(
            choices=[("", "---------"), *((v, f"{v} {label}") for v, label in field.choices)],
            widget=forms.Select(attrs=attrs),
            **common,
        )
    if field.type in (categories.INT, categories.DECIMAL):
        mode = "numeric" if field.type == categories.INT else "decimal"
        attrs.update({"inputmode": mode, "class": "short"})
    elif field.digits_only:
        attrs.update({"inputmode": "numeric", "maxlength": field.max_length})
    else:
        attrs.update({"autocomplete": "off", "maxlength": field.max_length})
    return forms.CharField(widget=forms.TextInput(attrs=attrs), **common)


class PerformanceForm(Form):
    """One category's performance: shared fields, the category's details, link, files."""

    # Shared fields are not required here either: the service says what is missing.
    name = forms.CharField(
        required=False,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "maxlength": NAME_MAX, "aria-required": "true"}
        ),
    )
    description = forms.CharField(
        label=_("Short description"),
        required=False,
        strip=False,  # the service trims and counts, so the count matches its message
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    video_url = forms.CharField(
        label=_("External video link (optional)"),
        required=False,
        max_length=VIDEO_URL_MAX,
        widget=forms.URLInput(attrs={"inputmode": "url", "placeholder": "https://"}),
        help_text=_("A link to a video of it (YouTube and the like), https:// only."),
    )
    document = forms.FileField(label=_("Proof document (optional)"), required=False)
    # A field named like Form.media: the form metaclass moves it out of the class.
    media = forms.FileField(  # type: ignore[assignment]
        label=_("Media file (optional)"), required=False
    )

    def __init__(
        self,
        *args: Any,
        category: categories.Category,
        policy: SchoolPolicy,
        instance: Performance | None = None,
        **kwargs: Any,
    ) -> None:
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = initial_for(instance)
        super().__init__(*args, **kwargs)
        self.category = category
        self.instance = instance
        self._setup_name(category)
        self._setup_dates(category)
        for field in category.fields:
            self.fields[field.key] = detail_form_field(field)
        self._setup_description(policy)
        setup_file_fields(self, policy)
        self._setup_removals(instance)
        self.order_fields(self.field_sequence())

    def leading_fields(self) -> list[str]:
        """Fields shown before the name (the staff form's student and year)."""
        return []

    def field_sequence(self) -> list[str]:
        """What it is, then the files last: a file cut off for being too large loses only
        what follows it in the request, never the typed text."""
        return [
            *self.leading_fields(),
            "name",
            "starts_on",
            "ends_on",
            *(field.key for field in self.category.fields),
            "description",
            "video_url",
            "document",
            "remove_document",
            "media",
            "remove_media",
        ]

    def _setup_name(self, category: categories.Category) -> None:
        name = self.fields["name"]
        name.label = str(category.name_label)
        name.help_text = with_column(category.name_help, category.name_column)

    def _setup_dates(self, category: categories.Category) -> None:
        if category.dates == categories.RANGE:
            self.fields["starts_on"] = date_field(_("From"), required=False, help_text="開始日期")
            self.fields["ends_on"] = date_field(
                _label(_("Until"), False),
                required=False,
                help_text=gettext("Leave empty if it is still going on. (結束日期)"),
            )
        elif category.dates == categories.SINGLE:
            self.fields["starts_on"] = date_field(
                category.date_label, required=False, help_text=category.date_column
            )
        if "starts_on" in self.fields:
            self.fields["starts_on"].widget.attrs["aria-required"] = "true"

    def _setup_description(self, policy: SchoolPolicy) -> None:
        limit = policy.short_description_max
        description = self.fields["description"]
        description.widget.attrs["aria-required"] = "true"
        description.help_text = gettext(
            "What you did and what came of it, in at most %(max)s characters (內容簡述)."
        ) % {"max": limit}
        # The live counter (static/js/upload.js) reads these; no maxlength, so pasted text is
        # never cut off silently: the counter says how much to remove.
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

    def _setup_removals(self, instance: Performance | None) -> None:
        """A kept file can be removed (or replaced by choosing a new one)."""
        if instance is None:
            return
        for field in FILE_FIELDS:
            stored = getattr(instance, field)
            if stored is None:
                continue
            self.fields[field].help_text = gettext(
                "Now: %(name)s. Choose a file to replace it. %(rule)s"
            ) % {"name": stored.display_name, "rule": self.fields[field].help_text}
            self.fields[f"remove_{field}"] = forms.BooleanField(
                label=gettext("Remove %(name)s") % {"name": stored.display_name},
                required=False,
            )

    def service_kwargs(self) -> dict[str, Any]:
        """What the performance services take, from the cleaned data."""
        data = getattr(self, "cleaned_data", {})
        return {
            "name": data.get("name") or "",
            "description": data.get("description") or "",
            "starts_on": data.get("starts_on"),
            "ends_on": data.get("ends_on"),
            "details": categories.details_from_form(self.category.code, data),
            "video_url": data.get("video_url") or "",
            "document": data.get("document"),
            "media": data.get("media"),
        }

    def text_kwargs(self) -> dict[str, Any]:
        """The fields a service checks, from what cleaned well (for ``performance_problems``
        when another field has an error)."""
        kwargs = self.service_kwargs()
        del kwargs["document"], kwargs["media"]
        return kwargs

    def removals(self) -> dict[str, bool]:
        return {
            f"remove_{field}": bool(self.cleaned_data.get(f"remove_{field}"))
            for field in FILE_FIELDS
            if f"remove_{field}" in self.fields
        }


def initial_for(performance: Performance) -> dict[str, Any]:
    """A kept performance as a form's initial values (details by their keys)."""
    return {
        "name": performance.name,
        "description": performance.description,
        "starts_on": performance.starts_on,
        "ends_on": performance.ends_on,
        "video_url": performance.video_url,
        "source": performance.source,
        **(performance.details or {}),
    }


# --- the offices ----------------------------------------------------------------------------

SOURCE_CHOICES = [(s.value, s.label) for s in PerformanceSource if s in STAFF_SOURCES]


class StaffPerformanceForm(PerformanceForm):
    """An office's item: for whom (when adding), which year, from the school or outside."""

    source = forms.ChoiceField(
        label=_("Comes from"),
        choices=SOURCE_CHOICES,
        initial=PerformanceSource.SCHOOL,
        help_text=_(
            "An activity the school held, or a result an outside body reported to the school."
        ),
    )

    def __init__(
        self,
        *args: Any,
        students: QuerySet[Student] | None = None,
        years: QuerySet[SchoolYear] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if students is not None:
            picker = ClassSeatPickField(
                help_text=_(
                    "Type the student number (學號), the full name, or the class and seat "
                    "number (101-05), then pick."
                )
            )
            picker.set_queryset(students)
            self.fields["student"] = picker
        if years is not None:
            self.fields["school_year"] = SchoolYearChoiceField(
                label=_("School year"), queryset=years, empty_label=None
            )
        self.order_fields(self.field_sequence())

    def leading_fields(self) -> list[str]:
        return [name for name in ("student", "school_year", "source") if name in self.fields]


class ClassSeatPickField(StudentPickField):
    """The student picker that also takes a class and seat number: 101-05 or 101 5."""

    def clean(self, value: Any) -> Student | None:
        try:
            return super().clean(value)
        except forms.ValidationError as error:
            found = self._by_class_and_seat(value if isinstance(value, str) else "")
            if found is None:
                raise error from None
            return found

    def _by_class_and_seat(self, text: str) -> Student | None:
        parts = text.replace("-", " ").replace("/", " ").split()
        seat = parse_int(parts[1]) if len(parts) == 2 else None
        if seat is None:
            return None
        return self.queryset.filter(school_class__name=parts[0], seat_number=seat).first()


# --- the offices' list ---------------------------------------------------------------------

STUDENT_ORDER = ["student__school_class__name", "student__seat_number", "student__student_number"]


class StaffFilterForm(ListFilterForm):
    SORTS = {
        "student": (_("Class and seat"), [*STUDENT_ORDER, "category", "-starts_on", "id"]),
        "newest": (_("Newest first"), ["-created_at", "-id"]),
        "category": (_("Category"), ["category", *STUDENT_ORDER, "id"]),
        "date": (_("Date"), ["-starts_on", *STUDENT_ORDER, "id"]),
    }
    school_year = SchoolYearChoiceField(
        label=_("School year"), queryset=SchoolYear.objects.none(), required=False
    )
    category = forms.ChoiceField(label=_("Category"), required=False)
    field_order = ["q", "school_class", "school_year", "category", "sort"]

    def __init__(self, data, *, school, classes: QuerySet[SchoolClass], **kwargs: Any) -> None:
        super().__init__(data, classes=classes, **kwargs)
        year = model_choice_field(self, "school_year")
        year.queryset = SchoolYear.objects.filter(school=school)
        year.empty_label = _("All years")
        choice_field(self, "category").choices = [("", _("All categories")), *category_choices()]

    def filter(self, rows: QuerySet) -> QuerySet:
        if year := self.get("school_year"):
            rows = rows.filter(school_year=year)
        if (category := self.get("category")) in PerformanceCategory.values:
            rows = rows.filter(category=category)
        return rows
