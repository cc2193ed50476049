"""Files that are not what they say: random bytes named .xlsx, a CSV with rows in two
encodings, a cell larger than the csv module reads, and the failed jobs they once caused.
Each says what is wrong, in the reader's language, never a 500 or an exception's text."""

import random

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from accounts.acting import ActingContext
from accounts.models import Role
from portfolio.models import JobStatus, Term
from records.imports.base import CSV_FIELD_LIMIT
from records.models import CourseCodeList, Student
from records.services import courses as course_services
from records.services import imports as import_services
from tests.builders.imports import (
    STUDENT_HEADER,
    csv_bytes,
    problems,
    roster,
    run,
    start,
    student_row,
)
from tests.builders.people import client_for, english
from tests.builders.records import code

HUGE_CELL = "x" * 1_500_000  # 1.5 MB, past the csv module's 131,072 characters


def random_bytes(size=4096) -> bytes:
    data = random.Random(8).randbytes(size)  # noqa: S311 - test data
    assert not data.startswith(b"PK")
    return data


@pytest.mark.parametrize(
    ("name", "expected"), [("roster.xlsx", "file_not_workbook"), ("roster.csv", "file_not_text")]
)
def test_random_bytes_cannot_be_read(school, name, expected):
    assert problems(run("students", random_bytes(), school, name=name)) == {(0, "", expected)}


def test_random_bytes_without_a_nul_near_the_start_cannot_be_read(school):
    data = bytes(b for b in random_bytes(20_000) if b not in (0, 10, 13))
    assert problems(run("students", data, school, name="r.xlsx")) == {(0, "", "file_not_workbook")}


def test_a_csv_file_named_xlsx_is_still_read(school):
    result = run("students", csv_bytes(roster(2)), school, name="roster.xlsx", apply=True)
    assert result["written"], result["errors"]


def test_a_row_in_another_encoding_is_named_not_the_header(school):
    head = csv_bytes([STUDENT_HEADER, student_row(1)], "utf-8")
    latin = csv_bytes([student_row(2, name="José")], "latin-1")
    result = run("students", head + latin, school, name="roster.csv")
    assert result["encoding"] == "utf-8-sig"
    assert problems(result) == {(3, "姓名", "encoding")}
    assert not Student.objects.exists()


def test_big5_file_with_a_utf8_row_is_read_as_big5(school):
    head = csv_bytes([STUDENT_HEADER, student_row(1), student_row(2)], "cp950")
    other = csv_bytes([student_row(3, name="王小明")], "utf-8")
    result = run("students", head + other, school, name="roster.csv")
    assert result["encoding"] == "cp950"
    assert problems(result) == {(4, "姓名", "encoding")}


def test_an_over_long_cell_is_a_problem_of_its_row(school):
    rows = roster(3)
    rows[2][2] = HUGE_CELL
    result = run("students", csv_bytes(rows), school, name="roster.csv")
    assert problems(result) == {(3, "", "cell_too_large")}
    assert result["errors"][0]["params"] == {"max": CSV_FIELD_LIMIT}
    assert result["counts"]["rows"] == 3  # the rows after it are read


def test_an_import_page_with_an_over_long_cell_speaks_chinese(
    school, registry, django_capture_on_commit_callbacks
):
    rows = roster(2)
    rows[1][2] = HUGE_CELL
    job = start(
        client_for(registry),
        csv_bytes(rows),
        django_capture_on_commit_callbacks,
        name="roster.csv",
    )
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    html = client_for(registry).get(reverse("imports:detail", args=[job.pk])).content.decode()
    assert "超過 131072 個字元" in html
    assert "field larger" not in html and "Error" not in html


@pytest.fixture
def registry(school, make_member):
    return make_member(school, Role.REGISTRY, username="rita")


def test_an_apply_whose_file_is_gone_fails_with_a_reason(
    school, registry, django_capture_on_commit_callbacks
):
    acting = ActingContext(user=registry.user, membership=registry)
    with django_capture_on_commit_callbacks(execute=True):
        preview = import_services.import_start(
            kind="students",
            term=None,
            upload=SimpleUploadedFile("roster.csv", csv_bytes(roster(1))),
            by=acting,
        )
    preview.refresh_from_db()
    preview.input_file.delete()  # as job_files_purge does a week after
    with django_capture_on_commit_callbacks(execute=True):
        applied = import_services.import_confirm(preview=preview, by=acting)
    applied.refresh_from_db()
    assert applied.status == JobStatus.FAILED
    assert applied.message == import_services.ImportFileGone.code
    html = english(client_for(registry)).get(reverse("portal:job", args=[applied.pk]))
    assert "no longer kept" in html.content.decode()
    assert not Student.objects.exists()


# --- the course-code list has its own reader ----------------------------------------------------


@pytest.fixture
def term(school, current_roc_year) -> Term:
    return Term.objects.get(school=school, school_year__roc_year=current_roc_year, number=1)


def test_a_code_list_with_an_over_long_cell_is_refused_on_its_line(term):
    content = f"課程代碼,科目名稱\n{code()},國語文\n{code(seq='02')},{HUGE_CELL}\n".encode()
    with pytest.raises(ValidationError) as error, translation.override("en"):
        course_services.code_list_upload(
            school=term.school, term=term, file_name="list.csv", content=content, by=None
        )
    assert "Line 3 of the file" in str(error.value.message_dict["file"])


def test_the_code_list_page_says_it_next_to_the_file(term, make_member):
    client = english(client_for(make_member(term.school, Role.CURRICULUM)))
    content = f'課程代碼\n{code()}\n"{HUGE_CELL}\n'.encode()
    response = client.post(
        reverse("courses:check_upload", args=[term.pk]),
        {"file": SimpleUploadedFile("list.csv", content)},
    )
    assert response.status_code == 200
    errors = response.context["upload_form"].errors["file"]
    assert "more than 131072 characters" in errors[0]
    assert not CourseCodeList.objects.exists()


def test_course_code_rejections_are_shown_without_direction_controls(term):
    content = f"{code()}\n\u202eabc\n".encode()
    result = course_services.code_list_upload(
        school=term.school, term=term, file_name="list.txt", content=content, by=None
    )
    assert [r.text for r in result.rejected] == ["abc"]
