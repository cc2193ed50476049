"""Forms of the offices' record pages: the student picker, the record forms and the list
filters. Forms only check shapes; the services check the rules."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import F, Q, QuerySet
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from portfolio.forms import Form, date_field, datetime_field
from portfolio.models import SchoolYear, Term
from records.models import (
    AbsenceKind,
    CadreLevel,
    Cluster,
    EnrolmentChangeKind,
    SchoolClass,
    Student,
    StudentStatus,
)
from records.services.staff import ATTENDANCE_MAX_PERIODS

# Up to this many students in scope, the picker suggests them as one types (a datalist);
# beyond it the page would grow too heavy, and the server still checks what was typed.
PICKER_SUGGESTIONS_MAX = 300


def _choice_text(number: str, name: str, class_name: str | None) -> str:
    return f"{number} {name}" + (f" ({class_name})" if class_name else "")


def _student_choice(student: Student) -> str:
    class_name = student.school_class.name if student.school_class_id else None
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
        self.fields["student"].set_queryset(students)


def _terms_field(school, **kwargs) -> forms.ModelChoiceField:
    field = forms.ModelChoiceField(
        queryset=Term.objects.filter(school=school)
        .select_related("school_year")
        .order_by("-school_year__roc_year", "number"),
        **kwargs,
    )
    field.label_from_instance = lambda term: str(term)
    return field


def _code_choices(choices) -> list[tuple[str, str]]:
    """Coded choices shown with their code, as the central tables list them."""
    return [(value, f"{value} {label}") for value, label in choices]


class CadrePostForm(StudentScopedForm):
    term = forms.ModelChoiceField(label=_("Term"), queryset=Term.objects.none())
    unit = forms.CharField(
        label=_("Unit"),
        max_length=100,
        help_text=_("Where the post is held: the class, club or body (單位名稱)."),
    )
    title = forms.CharField(
        label=_("Post"), max_length=100, help_text=_("For example 班長 or 社長 (擔任職務).")
    )
    level = forms.ChoiceField(
        label=_("Level"),
        choices=[("", "---------"), *_code_choices(CadreLevel.choices)],
        help_text=_("The central database's cadre level code (幹部等級)."),
    )
    starts_on = date_field(_("From"))
    ends_on = date_field(_("Until"))

    def __init__(self, *args: Any, school, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["term"] = _terms_field(school, label=_("Term"))


class ClubForm(Form):
    school_year = forms.ModelChoiceField(label=_("School year"), queryset=SchoolYear.objects.none())
    name = forms.CharField(label=_("Club name"), max_length=100)

    def __init__(self, *args: Any, school, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school_year"].queryset = SchoolYear.objects.filter(school=school)
        self.fields["school_year"].label_from_instance = lambda year: str(year.roc_year)


class ClubRenameForm(Form):
    name = forms.CharField(label=_("Club name"), max_length=100)


class ClubMemberForm(StudentScopedForm):
    term = forms.ModelChoiceField(label=_("Term"), queryset=Term.objects.none())

    def __init__(self, *args: Any, club, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["term"].queryset = Term.objects.filter(
            school_year=club.school_year_id
        ).select_related("school_year")
        self.fields["term"].label_from_instance = lambda term: str(term)


class ClubCopyForm(Form):
    from_term = forms.ModelChoiceField(label=_("Copy the members of"), queryset=Term.objects.none())
    to_term = forms.ModelChoiceField(label=_("Into"), queryset=Term.objects.none())

    def __init__(self, *args: Any, club, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        terms = Term.objects.filter(school_year=club.school_year_id).select_related("school_year")
        for name in ("from_term", "to_term"):
            self.fields[name].queryset = terms
            self.fields[name].label_from_instance = lambda term: str(term)


class AttendanceForm(Form):
    """One student's whole term: periods for each of the 12 kinds of absence."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind in AbsenceKind:
            self.fields[kind.value] = forms.IntegerField(
                label=f"{kind.value} {kind.label}",
                min_value=0,
                max_value=ATTENDANCE_MAX_PERIODS,
                required=False,
                widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "short"}),
            )

    def periods(self) -> dict[str, int]:
        return {kind: self.cleaned_data.get(kind) or 0 for kind in AbsenceKind.values}


class ConsultationForm(StudentScopedForm):
    held_at = datetime_field(_("Date and time"))
    place = forms.CharField(label=_("Place"), max_length=100)
    content = forms.CharField(
        label=_("Content"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What was discussed (諮詢內容)."),
    )
    advice = forms.CharField(
        label=_("Advice"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Your advice to the student (諮詢建議), if any."),
    )


class CareerRecordForm(StudentScopedForm):
    held_on = date_field(_("Date"))
    clusters = forms.MultipleChoiceField(
        label=_("Academic clusters explored"),
        choices=Cluster.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Tick one or more of the 18 academic clusters (學群)."),
    )
    content = forms.CharField(
        label=_("Exploration and plans"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )


class EnrolmentChangeForm(Form):
    kind = forms.ChoiceField(
        label=_("Change"), choices=[("", "---------"), *EnrolmentChangeKind.choices]
    )
    effective_on = date_field(_("Effective date"))
    note = forms.CharField(
        label=_("Note"),
        max_length=200,
        required=False,
        help_text=_("For example the other school, or the document number (文號)."),
    )


class EnrolmentChangeAddForm(StudentScopedForm, EnrolmentChangeForm):
    field_order = ["student", "kind", "effective_on", "note"]


class StudentFindForm(StudentScopedForm):
    pass


# --- List filters ---------------------------------------------------------------------------


class ListFilterForm(Form):
    """A list's GET filters: every field optional; a value that does not check out is
    ignored rather than shown as an error. ``SORTS`` maps a key to (label, ordering); the
    first is the default."""

    SORTS: dict[str, tuple[Any, list[str]]] = {}
    STUDENT = "student__"  # path from the listed rows to their student

    q = forms.CharField(label=_("Student number or name"), required=False, max_length=100)
    school_class = forms.ModelChoiceField(
        label=_("Class"),
        queryset=SchoolClass.objects.none(),
        required=False,
        empty_label=_("All classes"),
    )
    sort = forms.ChoiceField(label=_("Sort by"), required=False)

    def __init__(self, data, *, classes: QuerySet[SchoolClass] | list, **kwargs: Any) -> None:
        super().__init__(data, auto_id="filter-%s", **kwargs)
        if isinstance(self.fields["school_class"], forms.ModelChoiceField):
            self.fields["school_class"].queryset = classes
        self.fields["sort"].choices = [(key, label) for key, (label, _o) in self.SORTS.items()]

    def get(self, name: str) -> Any:
        """The checked value of ``name``; None when absent or not valid."""
        errors = self.errors  # cleans the form once, on first use
        return None if name in errors else self.cleaned_data.get(name)

    def ordering(self) -> list[str]:
        key = self.get("sort")
        return self.SORTS[key if key in self.SORTS else next(iter(self.SORTS))][1]

    def apply(self, rows: QuerySet) -> QuerySet:
        """Filter ``rows`` by the fields this class knows, then sort them."""
        prefix = self.STUDENT
        if query := (self.get("q") or "").strip():
            rows = rows.filter(
                Q(**{f"{prefix}student_number__icontains": query})
                | Q(**{f"{prefix}name__icontains": query})
            )
        if school_class := self.get("school_class"):
            rows = rows.filter(**{f"{prefix}school_class": school_class})
        return self.filter(rows).order_by(*self.ordering())

    def filter(self, rows: QuerySet) -> QuerySet:
        return rows


class DateRangeMixin(Form):
    date_from = date_field(_("From"), required=False)
    date_to = date_field(_("Until"), required=False)

    def dates(self, rows: QuerySet, field: str) -> QuerySet:
        if start := self.get("date_from"):
            rows = rows.filter(**{f"{field}__gte": start})
        if end := self.get("date_to"):
            rows = rows.filter(**{f"{field}__lte": end})
        return rows


STUDENT_ORDER = ["student__school_class__name", "student__seat_number", "student__student_number"]


class CadreFilterForm(ListFilterForm):
    SORTS = {
        "student": (_("Class and seat"), [*STUDENT_ORDER, "starts_on", "id"]),
        "newest": (_("Newest first"), ["-starts_on", "-id"]),
        "level": (_("Level"), ["level", *STUDENT_ORDER, "id"]),
    }
    term = forms.ModelChoiceField(label=_("Term"), queryset=Term.objects.none(), required=False)
    level = forms.ChoiceField(
        label=_("Level"),
        choices=[("", _("All levels")), *_code_choices(CadreLevel.choices)],
        required=False,
    )
    field_order = ["q", "school_class", "term", "level", "sort"]

    def __init__(self, data, *, school, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.fields["term"] = _terms_field(
            school, label=_("Term"), required=False, empty_label=_("All terms")
        )

    def filter(self, rows: QuerySet) -> QuerySet:
        if term := self.get("term"):
            rows = rows.filter(term=term)
        if level := self.get("level"):
            rows = rows.filter(level=level)
        return rows


class ClubFilterForm(Form):
    SORTS = {"name": (_("Name"), ["name"]), "members": (_("Most members"), ["-members", "name"])}
    school_year = forms.ModelChoiceField(
        label=_("School year"), queryset=SchoolYear.objects.none(), required=False
    )
    q = forms.CharField(label=_("Club name"), required=False, max_length=100)
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=[])

    def __init__(self, data, *, school, **kwargs: Any) -> None:
        super().__init__(data, auto_id="filter-%s", **kwargs)
        field = self.fields["school_year"]
        field.queryset = SchoolYear.objects.filter(school=school)
        field.label_from_instance = lambda year: str(year.roc_year)
        field.empty_label = None
        self.fields["sort"].choices = [(key, label) for key, (label, _o) in self.SORTS.items()]

    def get(self, name: str) -> Any:
        errors = self.errors
        return None if name in errors else self.cleaned_data.get(name)

    def ordering(self) -> list[str]:
        return self.SORTS.get(self.get("sort") or "name", self.SORTS["name"])[1]


class ClubMemberFilterForm(ListFilterForm):
    SORTS = {
        "student": (_("Class and seat"), [*STUDENT_ORDER, "id"]),
        "number": (_("Student number"), ["student__student_number", "id"]),
    }
    term = forms.ModelChoiceField(label=_("Term"), queryset=Term.objects.none(), required=False)
    field_order = ["term", "q", "school_class", "sort"]

    def __init__(self, data, *, club, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.fields["term"] = forms.ModelChoiceField(
            label=_("Term"),
            queryset=Term.objects.filter(school_year=club.school_year_id).select_related(
                "school_year"
            ),
            required=False,
            empty_label=None,
        )
        self.fields["term"].label_from_instance = lambda term: str(term)

    def filter(self, rows: QuerySet) -> QuerySet:
        if term := self.get("term"):
            rows = rows.filter(term=term)
        return rows


class AttendanceFilterForm(ListFilterForm):
    STUDENT = ""
    SORTS = {
        "student": (_("Class and seat"), ["school_class__name", "seat_number", "student_number"]),
        "number": (_("Student number"), ["student_number"]),
        "most": (_("Most periods first"), ["-total", "school_class__name", "seat_number"]),
    }
    RECORDED = [("", _("All students")), ("yes", _("With periods recorded")), ("no", _("None"))]
    term = forms.ModelChoiceField(label=_("Term"), queryset=Term.objects.none())
    recorded = forms.ChoiceField(label=_("Recorded"), choices=RECORDED, required=False)
    field_order = ["term", "q", "school_class", "recorded", "sort"]

    def __init__(self, data, *, school, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.fields["term"] = _terms_field(school, label=_("Term"), empty_label=None)

    def filter(self, rows: QuerySet) -> QuerySet:
        """``rows`` are students annotated with ``total``: their periods in the term."""
        recorded = self.get("recorded")
        if recorded == "yes":
            rows = rows.filter(total__gt=0)
        elif recorded == "no":
            rows = rows.filter(total__isnull=True)
        return rows


class ConsultationFilterForm(DateRangeMixin, ListFilterForm):
    SORTS = {
        "newest": (_("Newest first"), ["-held_at", "-id"]),
        "oldest": (_("Oldest first"), ["held_at", "id"]),
        "student": (_("Class and seat"), [*STUDENT_ORDER, "-held_at"]),
    }
    field_order = ["q", "school_class", "date_from", "date_to", "sort"]

    def filter(self, rows: QuerySet) -> QuerySet:
        return self.dates(rows, "held_at__date")


class ConsultantStudentFilterForm(ListFilterForm):
    STUDENT = ""
    SORTS = {
        "student": (_("Class and seat"), ["school_class__name", "seat_number", "student_number"]),
        "fewest": (
            _("Fewest records first"),
            ["records", "school_class__name", "seat_number", "student_number"],
        ),
        "latest": (
            _("Longest since a record"),
            [F("last_at").asc(nulls_first=True), "school_class__name", "seat_number"],
        ),
    }


class CareerFilterForm(DateRangeMixin, ListFilterForm):
    SORTS = {
        "newest": (_("Newest first"), ["-held_on", "-id"]),
        "oldest": (_("Oldest first"), ["held_on", "id"]),
        "student": (_("Class and seat"), [*STUDENT_ORDER, "-held_on"]),
    }
    cluster = forms.ChoiceField(
        label=_("Academic cluster"),
        choices=[("", _("All clusters")), *Cluster.choices],
        required=False,
    )
    field_order = ["q", "school_class", "cluster", "date_from", "date_to", "sort"]

    def filter(self, rows: QuerySet) -> QuerySet:
        if cluster := self.get("cluster"):
            # The codes are stored as a JSON list of strings: match the quoted code, which
            # works the same on SQLite and PostgreSQL.
            rows = rows.filter(clusters__icontains=f'"{cluster}"')
        return self.dates(rows, "held_on")


class EnrolmentChangeFilterForm(DateRangeMixin, ListFilterForm):
    SORTS = {
        "newest": (_("Newest first"), ["-effective_on", "-id"]),
        "oldest": (_("Oldest first"), ["effective_on", "id"]),
        "student": (_("Class and seat"), [*STUDENT_ORDER, "effective_on", "id"]),
    }
    kind = forms.ChoiceField(
        label=_("Change"),
        choices=[("", _("All changes")), *EnrolmentChangeKind.choices],
        required=False,
    )
    field_order = ["q", "school_class", "kind", "date_from", "date_to", "sort"]

    def filter(self, rows: QuerySet) -> QuerySet:
        if kind := self.get("kind"):
            rows = rows.filter(kind=kind)
        return self.dates(rows, "effective_on")


class RosterFilterForm(ListFilterForm):
    """The roster's filters; its class and term choices come as lists already loaded, so
    checking and showing them costs no further query."""

    STUDENT = ""
    SORTS = {
        "seat": (_("Seat number"), ["seat_number", "student_number"]),
        "number": (_("Student number"), ["student_number"]),
        "name": (_("Name"), ["name", "student_number"]),
    }
    school_class = forms.TypedChoiceField(label=_("Class"), coerce=int, required=False)
    term = forms.TypedChoiceField(label=_("Courses of"), coerce=int, required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("", _("All statuses")), *StudentStatus.choices],
        required=False,
    )
    field_order = ["school_class", "term", "q", "status", "sort"]

    def __init__(self, data, *, classes: list[SchoolClass], terms: list[Term], **kwargs):
        super().__init__(data, classes=classes, **kwargs)
        self.classes = {c.pk: c for c in classes}
        self.terms = {t.pk: t for t in terms}
        self.fields["school_class"].choices = [(c.pk, c.name) for c in classes]
        self.fields["term"].choices = [(t.pk, str(t)) for t in terms]

    def picked_class(self) -> SchoolClass | None:
        return self.classes.get(self.get("school_class"))

    def picked_term(self) -> Term | None:
        return self.terms.get(self.get("term"))

    def filter(self, rows: QuerySet) -> QuerySet:
        if status := self.get("status"):
            rows = rows.filter(status=status)
        return rows
