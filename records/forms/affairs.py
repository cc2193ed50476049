"""Student affairs' forms: cadre posts, clubs and their members, attendance."""

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from portfolio.forms import (
    Form,
    SchoolYearChoiceField,
    choice_field,
    date_field,
    model_choice_field,
)
from portfolio.models import SchoolYear, Term
from records.forms.lists import (
    STUDENT_ORDER,
    ListFilterForm,
    code_choices,
    terms_field,
)
from records.forms.pickers import StudentScopedForm
from records.models import (
    AbsenceKind,
    CadreLevel,
)
from records.services.staff import ATTENDANCE_MAX_PERIODS


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
        choices=[("", "---------"), *code_choices(CadreLevel.choices)],
        help_text=_("The central database's cadre level code (幹部等級)."),
    )
    starts_on = date_field(_("From"))
    ends_on = date_field(_("Until"))

    def __init__(self, *args: Any, school, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["term"] = terms_field(school, label=_("Term"))


class ClubForm(Form):
    school_year = SchoolYearChoiceField(label=_("School year"), queryset=SchoolYear.objects.none())
    name = forms.CharField(label=_("Club name"), max_length=100)

    def __init__(self, *args: Any, school, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "school_year").queryset = SchoolYear.objects.filter(school=school)


class ClubRenameForm(Form):
    name = forms.CharField(label=_("Club name"), max_length=100)


class ClubMemberForm(StudentScopedForm):
    term = forms.ModelChoiceField(label=_("Term"), queryset=Term.objects.none())

    def __init__(self, *args: Any, club, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "term").queryset = Term.objects.filter(
            school_year=club.school_year_id
        ).select_related("school_year")


class ClubCopyForm(Form):
    from_term = forms.ModelChoiceField(label=_("Copy the members of"), queryset=Term.objects.none())
    to_term = forms.ModelChoiceField(label=_("Into"), queryset=Term.objects.none())

    def __init__(self, *args: Any, club, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        terms = Term.objects.filter(school_year=club.school_year_id).select_related("school_year")
        for name in ("from_term", "to_term"):
            model_choice_field(self, name).queryset = terms


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


class CadreFilterForm(ListFilterForm):
    SORTS = {
        "student": (_("Class and seat"), [*STUDENT_ORDER, "starts_on", "id"]),
        "newest": (_("Newest first"), ["-starts_on", "-id"]),
        "level": (_("Level"), ["level", *STUDENT_ORDER, "id"]),
    }
    term = forms.ModelChoiceField(label=_("Term"), queryset=Term.objects.none(), required=False)
    level = forms.ChoiceField(
        label=_("Level"),
        choices=[("", _("All levels")), *code_choices(CadreLevel.choices)],
        required=False,
    )
    field_order = ["q", "school_class", "term", "level", "sort"]

    def __init__(self, data, *, school, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.fields["term"] = terms_field(
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
    school_year = SchoolYearChoiceField(
        label=_("School year"), queryset=SchoolYear.objects.none(), required=False
    )
    q = forms.CharField(label=_("Club name"), required=False, max_length=100)
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=[])

    def __init__(self, data, *, school, **kwargs: Any) -> None:
        super().__init__(data, auto_id="filter-%s", **kwargs)
        field = model_choice_field(self, "school_year")
        field.queryset = SchoolYear.objects.filter(school=school)
        field.empty_label = None
        choice_field(self, "sort").choices = [
            (key, label) for key, (label, _o) in self.SORTS.items()
        ]

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
        self.fields["term"] = terms_field(school, label=_("Term"), empty_label=None)

    def filter(self, rows: QuerySet) -> QuerySet:
        """``rows`` are students annotated with ``total``: their periods in the term."""
        recorded = self.get("recorded")
        if recorded == "yes":
            rows = rows.filter(total__gt=0)
        elif recorded == "no":
            rows = rows.filter(total__isnull=True)
        return rows
