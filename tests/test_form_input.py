"""Text no one types: control characters and bidirectional controls are refused by every form
and every import, next to the field or on the row, and left out of exports, so that a row
saved before can never break an xlsx download."""

import importlib
import inspect
import io
import pkgutil

import pytest
from django import forms
from django.utils import translation
from openpyxl import load_workbook

from portfolio import exports
from portfolio.forms import Form, ModelMultipleChoiceField, TextRules
from portfolio.lib.text import forbidden_character, search_text, without_forbidden
from records.imports import base, values
from tests.builders.imports import STUDENT_HEADER, csv_bytes, problems, run, student_row, xlsx_bytes

APPS = ("portfolio", "accounts", "records", "submissions", "certification", "portal")


# --- the rule ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "multiline", "kind"),
    [
        ("王小明", False, None),
        ("第一行\r\n第二行\t續", True, None),
        ("a\tb", False, "line"),
        ("a\nb", False, "line"),
        ("a\x1bb", True, "control"),
        ("a\x0bb", True, "control"),
        ("a\x00", True, "control"),
        ("a\x7f", False, "control"),
        ("a\x85", False, "control"),
        ("exe.\u202etxt", False, "bidi"),
        ("\u2066x\u2069", True, "bidi"),
        ("\u200f", False, None),  # a right-to-left mark changes no order: allowed
    ],
)
def test_forbidden_character(text, multiline, kind):
    found = forbidden_character(text, multiline=multiline)
    assert (found.kind if found else None) == kind


def test_forbidden_character_names_the_code_point():
    found = forbidden_character("a\x1b")
    assert found.code_point == "U+001B"
    with translation.override("en"):
        assert "U+001B" in found.message
    with translation.override("zh-hant"):
        assert "U+001B" in found.message and "控制字元" in found.message


def test_search_text_drops_what_cannot_be_searched():
    assert search_text("  王\x00小\u202e明  ") == "王小明"
    assert search_text("x" * 500) == "x" * 100
    assert search_text(None) == ""
    assert without_forbidden("a\tb\x1b", multiline=True) == "a\tb"


class Sample(Form):
    name = forms.CharField(required=False)
    notes = forms.CharField(required=False, widget=forms.Textarea)
    token = forms.CharField(required=False, widget=forms.HiddenInput)
    picks = forms.MultipleChoiceField(required=False, choices=[("a", "a"), ("b", "b")])


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "王\x1b小明"}, "name"),
        ({"name": "王小明\x0b"}, "name"),  # refused, not silently trimmed
        ({"name": "a\tb"}, "name"),
        ({"name": "\u202eabc"}, "name"),
        ({"notes": "a\x00b"}, "notes"),
        ({"token": "x\x1b"}, "__all__"),  # a hidden field's problem is the form's
        ({"picks": ["a", "b\x1b"]}, "picks"),
    ],
)
def test_a_form_refuses_them_next_to_the_field(data, field):
    with translation.override("en"):
        form = Sample(data)
        assert not form.is_valid()
        assert list(form.errors) == [field]
        assert "Remove" in form.errors[field][-1] or "one line" in form.errors[field][-1]


def test_a_form_takes_tabs_and_line_breaks_in_multi_line_fields():
    form = Sample({"name": "王小明", "notes": "第一行\r\n\t第二行"})
    assert form.is_valid(), form.errors


def _project_forms() -> list[type[forms.BaseForm]]:
    """Every form class defined in the project's apps (every module imported)."""
    found = []
    for app in APPS:
        package = importlib.import_module(app)
        for info in pkgutil.walk_packages(package.__path__, f"{app}."):
            if ".migrations" in info.name or info.name.endswith(("wsgi", "celery")):
                continue
            module = importlib.import_module(info.name)
            for _name, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, forms.BaseForm) and cls.__module__ == module.__name__:
                    found.append(cls)
    return found


def test_every_form_of_the_project_checks_its_text():
    found = _project_forms()
    names = {cls.__name__ for cls in found}
    assert {"CorrectionRequestForm", "PerformanceForm", "ImportForm", "PolicyForm"} <= names
    unchecked = sorted(
        f"{cls.__module__}.{cls.__name__}" for cls in found if not issubclass(cls, TextRules)
    )
    assert unchecked == [], "derive these from portfolio.forms.Form or ModelForm"


def test_every_multiple_choice_of_rows_refuses_what_is_no_id():
    bare = sorted(
        f"{cls.__module__}.{cls.__name__}.{name}"
        for cls in _project_forms()
        for name, field in cls.base_fields.items()
        if isinstance(field, forms.ModelMultipleChoiceField)
        and not isinstance(field, ModelMultipleChoiceField)
    )
    assert bare == [], "use portfolio.forms.ModelMultipleChoiceField"


def test_xlsx_response_leaves_out_what_a_worksheet_cannot_hold():
    response = exports.xlsx_response(
        filename="x.xlsx",
        sheet="籃球/排球[社]:*?",
        headers=["名\x00稱"],
        rows=[["a\x00b\x1bc\td\ne"], ["\x01=SUM(A1)"]],
    )
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.title == "籃球 排球 社"
    assert [c.value for c in sheet["A"]] == ["名稱", "abc\td\ne", "'=SUM(A1)"]


# --- imports -----------------------------------------------------------------------------------


def test_an_imported_name_with_a_hidden_character_is_a_problem_of_its_row(school):
    rows = [
        STUDENT_HEADER,
        student_row(1, name="王\x00明"),
        student_row(2, name="陳\x1b華"),
        student_row(3, name="林\u202e美"),
        student_row(4, name="張\n強"),
        student_row(5),
    ]
    result = run("students", csv_bytes(rows), school, name="roster.csv")
    assert problems(result) == {
        (2, "姓名", "text_control"),
        (3, "姓名", "text_control"),
        (4, "姓名", "text_bidi"),
        (5, "姓名", "text_line"),
    }
    assert result["errors"][1]["params"] == {"code": "U+001B"}


def test_a_workbook_cell_escaping_a_control_character_is_refused(school):
    """Excel writes a control character in text as _x001B_; the reader unescapes it."""
    rows = [STUDENT_HEADER, student_row(1, name="陳_x001B_華")]
    assert problems(run("students", xlsx_bytes(rows), school)) == {(2, "姓名", "text_control")}


class Notes(base.ImportKind):
    name = "notes"
    columns = (
        base.Column("名稱", "title", values.limited(50), required=True),
        base.Column("說明", "notes", values.limited(500), multiline=True),
    )


def test_a_multi_line_column_takes_tabs_and_line_breaks():
    report = base.Report(kind="notes", file_name="notes.csv")
    data = csv_bytes([["名稱", "說明"], ["甲", "第一行\n\t第二行"], ["乙\t", "a\x1bb"]])
    rows, _headers = base.read(Notes(), io.BytesIO(data), None, report, lambda fraction: None)
    assert [row.values for row in rows] == [{"title": "甲", "notes": "第一行\n\t第二行"}]
    # The tab after 乙 is trimmed with the spaces around a cell, so it is not a problem.
    assert [(p.row, p.column, p.code) for p in report.problems] == [(3, "說明", "text_control")]
