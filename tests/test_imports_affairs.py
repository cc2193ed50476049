"""Imports of student affairs' records: cadre posts, club memberships, attendance."""

import datetime as dt
import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from accounts.models import Role
from portfolio.models import AuditLog, Job, JobStatus, Term
from records.imports import KINDS
from records.models import AttendanceSummary, CadrePost, Club, ClubMembership, Student
from tests.builders.imports import (
    STUDENT_HEADER,
    bad_checksum,
    csv_bytes,
    nid,
    page,
    problems,
    roster,
    run,
    start,
    student_row,
    xlsx_bytes,
)
from tests.builders.people import client_for, english

INDEX = reverse("imports:index")
CADRE_HEADER = [
    "學號",
    "身分證號",
    "出生日期",
    "單位名稱",
    "開始日期",
    "結束日期",
    "擔任職務",
    "幹部等級",
]
KIND_NAMES = [
    "公假",
    "事假",
    "病假",
    "婚假",
    "產前假",
    "娩假",
    "陪產假",
    "流產假",
    "育嬰假",
    "生理假",
    "喪假",
    "曠課",
]


@pytest.fixture
def term(school, current_roc_year) -> Term:
    return Term.objects.get(school=school, school_year__roc_year=current_roc_year, number=1)


@pytest.fixture
def students(school):
    result = run("students", xlsx_bytes(roster(4)), school, apply=True)
    assert result["written"], result["errors"]
    return {s.student_number: s for s in Student.objects.filter(school=school)}


@pytest.fixture
def affairs(school, make_member):
    return make_member(school, Role.STUDENT_AFFAIRS, username="sally")


def day(term: Term, days: int) -> str:
    return (term.starts_on + dt.timedelta(days=days)).isoformat()


def cadre_rows(term: Term) -> list[list]:
    return [
        CADRE_HEADER,
        ["S0001", "", "", "學生會", day(term, 0), day(term, 100), "會長", 1],
        ["", nid(2), "0980321", "101", day(term, 0), day(term, 60), "班長", "2"],
        ["S0003", nid(3), "", "熱舞社", day(term, 10), day(term, 90), "社長", 3],
    ]


# Cadre posts ---------------------------------------------------------------------------


def test_cadre_posts_are_added_then_unchanged_then_changed(school, term, students):
    data = xlsx_bytes(cadre_rows(term), title="幹部經歷紀錄")
    preview = run("cadre_posts", data, school, term=term)
    assert preview["clean"] and preview["counts"]["added"] == 3
    assert not CadrePost.objects.exists()

    result = run("cadre_posts", data, school, term=term, apply=True)
    assert result["written"] and result["counts"]["added"] == 3
    post = CadrePost.objects.get(student=students["S0002"])
    assert (post.unit, post.title, post.level, post.term) == ("101", "班長", "2", term)
    assert post.ends_on == term.starts_on + dt.timedelta(days=60)

    again = run("cadre_posts", data, school, term=term, apply=True)
    assert again["counts"] == {**again["counts"], "added": 0, "changed": 0, "unchanged": 3}
    assert CadrePost.objects.count() == 3

    rows = cadre_rows(term)
    rows[1][7] = 5  # level
    rows[2][5] = day(term, 70)  # end date
    changed = run("cadre_posts", xlsx_bytes(rows), school, term=term, apply=True)
    assert changed["counts"]["changed"] == 2 and changed["counts"]["unchanged"] == 1
    assert [c[0] for c in changed["changed"][0]["changes"]] == ["幹部等級"]
    assert CadrePost.objects.get(student=students["S0001"]).level == "5"
    assert CadrePost.objects.count() == 3
    assert AuditLog.objects.filter(action="import.cadre_posts").count() == 3


def test_cadre_post_bad_rows_are_reported_and_nothing_is_written(school, term, students):
    year_first = dt.date(term.school_year.roc_year + 1911, 8, 1)
    rows = [
        CADRE_HEADER,
        ["S0001", "", "", "學生會", day(term, 10), day(term, 5), "會長", 1],  # end before
        ["S0002", "", "", "101", "2000-01-01", day(term, 5), "班長", 2],  # outside the year
        ["S0003", "", "", "101", day(term, 300), day(term, 320), "班長", 2],  # after term
        ["S0004", "", "", "101", day(term, 0), day(term, 5), "班長", 6],  # level
        ["S9999", "", "", "101", day(term, 0), day(term, 5), "班長", 2],  # unknown
        ["S0001", nid(2), "", "101", day(term, 0), day(term, 5), "班長", 2],  # mismatch
        ["S0002", "", "0990101", "101", day(term, 0), day(term, 5), "班長", 2],  # born
        ["", "", "", "101", day(term, 0), day(term, 5), "班長", 2],  # no student
        ["S0004", "", "", "", day(term, 0), day(term, 5), "班長", 2],  # no unit
        ["S0004", "", "", "101", "1149999", day(term, 5), "班長", 2],  # bad date
        ["S0004", bad_checksum(nid(4)), "", "101", day(term, 0), day(term, 5), "班長", 2],
        ["S0001", "", "", "101", day(term, 0), day(term, 5), "風紀", 2],  # fine
        ["S0001", "", "", "101", day(term, 0), day(term, 9), "風紀", 3],  # duplicate
    ]
    result = run("cadre_posts", xlsx_bytes(rows), school, term=term, apply=True)
    assert not result["written"]
    assert problems(result) == {
        (2, "結束日期", "cadre_end_before_start"),
        (3, "開始日期", "cadre_outside_year"),
        (4, "開始日期", "cadre_outside_term"),
        (5, "幹部等級", "cadre_level"),
        (6, "學號", "student_unknown"),
        (7, "身分證號", "student_mismatch"),
        (8, "出生日期", "birth_date_mismatch"),
        (9, "學號", "required"),
        (10, "單位名稱", "required"),
        (11, "開始日期", "date_invalid"),
        (12, "身分證號", "national_id_checksum"),
        (14, "擔任職務", "duplicate"),
    }
    outside = next(e for e in result["errors"] if e["code"] == "cadre_outside_year")
    assert outside["params"]["min"] == year_first.isoformat()
    assert not CadrePost.objects.exists()


def test_cadre_posts_need_their_columns_and_a_term(school, term, students):
    data = csv_bytes([["學號", "單位名稱", "開始日期"], ["S0001", "101", day(term, 0)]])
    result = run("cadre_posts", data, school, term=term)
    assert {("結束日期", "missing_column"), ("擔任職務", "missing_column")} <= {
        (p[1], p[2]) for p in problems(result)
    }
    no_term = run("cadre_posts", xlsx_bytes(cadre_rows(term)), school)
    assert problems(no_term) == {(0, "", "term_required")}


# Clubs -----------------------------------------------------------------------------------


def test_club_members_are_added_with_missing_clubs_then_unchanged(school, term, students):
    Club.objects.create(school=school, school_year=term.school_year, name="熱舞社")
    rows = [
        ["學號", "身分證號", "社團名稱"],
        ["S0001", "", "熱舞社"],
        ["S0002", "", "吉他社"],
        ["", nid(3), "吉他社"],
        ["S0001", "", "吉他社"],
    ]
    preview = run("clubs", csv_bytes(rows), school, term=term)
    assert preview["clean"] and preview["counts"]["added"] == 4
    assert preview["new_clubs"] == ["吉他社"]
    assert Club.objects.count() == 1

    result = run("clubs", csv_bytes(rows), school, term=term, apply=True)
    assert result["written"] and result["created"] == {"clubs": ["吉他社"]}
    guitar = Club.objects.get(name="吉他社")
    assert guitar.school_year == term.school_year
    assert set(guitar.memberships.values_list("student__student_number", flat=True)) == {
        "S0001",
        "S0002",
        "S0003",
    }
    again = run("clubs", csv_bytes(rows), school, term=term, apply=True)
    assert again["counts"]["added"] == 0 and again["counts"]["unchanged"] == 4
    assert ClubMembership.objects.count() == 4 and Club.objects.count() == 2

    other_term = Term.objects.get(school_year=term.school_year, number=2)
    later = run("clubs", csv_bytes(rows), school, term=other_term, apply=True)
    assert later["counts"]["added"] == 4 and not later["created"]
    assert ClubMembership.objects.count() == 8


def test_club_bad_rows(school, term, students):
    rows = [
        ["學號", "社團名稱"],
        ["S0001", "熱舞社"],
        ["S0001", "熱舞社"],
        ["S9999", "熱舞社"],
        ["S0002", ""],
        ["S0003", "社" * 101],
    ]
    result = run("clubs", xlsx_bytes(rows), school, term=term, apply=True)
    assert problems(result) == {
        (3, "社團名稱", "duplicate"),
        (4, "學號", "student_unknown"),
        (5, "社團名稱", "required"),
        (6, "社團名稱", "too_long"),
    }
    assert not Club.objects.exists() and not ClubMembership.objects.exists()


# Attendance ------------------------------------------------------------------------------


def test_attendance_long_layout_with_codes_and_names(school, term, students):
    rows = [
        ["學號", "身分證號", "缺勤種類代碼", "節數"],
        ["S0001", "", "02", 3],
        ["S0001", "", "病假", 4],
        ["", nid(2), "12", "1"],
        ["S0003", "", 1, 0],  # nothing to clear: unchanged
    ]
    result = run("attendance", xlsx_bytes(rows, title="缺勤紀錄"), school, term=term, apply=True)
    assert result["written"], result["errors"]
    assert (result["counts"]["added"], result["counts"]["unchanged"]) == (3, 1)
    recorded = set(
        AttendanceSummary.objects.values_list("student__student_number", "kind", "periods")
    )
    assert recorded == {("S0001", "02", 3), ("S0001", "03", 4), ("S0002", "12", 1)}
    again = run("attendance", xlsx_bytes(rows), school, term=term, apply=True)
    assert again["counts"]["unchanged"] == 4 and again["counts"]["added"] == 0

    rows[1][3] = 5
    rows[2][3] = 0  # clears the kind
    changed = run("attendance", xlsx_bytes(rows), school, term=term, apply=True)
    assert changed["counts"]["changed"] == 2
    recorded = set(
        AttendanceSummary.objects.values_list("student__student_number", "kind", "periods")
    )
    assert recorded == {("S0001", "02", 5), ("S0002", "12", 1)}
    assert AuditLog.objects.filter(action="import.attendance").count() == 3


def test_attendance_wide_layout(school, term, students):
    rows = [
        ["學號", *KIND_NAMES],
        ["S0001", 1, 2, 3, "", "", "", "", "", "", "", "", 4],
        ["S0002", "", "", "", "", "", "", "", "", "", "", "", ""],
    ]
    result = run("attendance", xlsx_bytes(rows), school, term=term, apply=True)
    assert result["written"], result["errors"]
    assert result["counts"]["added"] == 1 and result["counts"]["unchanged"] == 1
    assert dict(
        AttendanceSummary.objects.filter(student=students["S0001"]).values_list("kind", "periods")
    ) == {"01": 1, "02": 2, "03": 3, "12": 4}
    again = run("attendance", xlsx_bytes(rows), school, term=term, apply=True)
    assert again["counts"]["unchanged"] == 2

    rows[1][2] = ""  # 事假 cleared
    rows[1][3] = 5
    changed = run("attendance", csv_bytes(rows), school, term=term, apply=True)
    assert changed["counts"]["changed"] == 1
    assert sorted(changed["changed"][0]["changes"]) == [["事假", "2", "0"], ["病假", "3", "5"]]
    assert dict(
        AttendanceSummary.objects.filter(student=students["S0001"]).values_list("kind", "periods")
    ) == {"01": 1, "03": 5, "12": 4}


def test_a_wide_file_with_some_kinds_leaves_the_others(school, term, students):
    AttendanceSummary.objects.create(
        school=school, student=students["S0001"], term=term, kind="12", periods=7
    )
    result = run("attendance", csv_bytes([["學號", "事假"], ["S0001", 2]]), school, term=term)
    assert result["counts"]["added"] == 1
    run("attendance", csv_bytes([["學號", "事假"], ["S0001", 2]]), school, term=term, apply=True)
    assert dict(
        AttendanceSummary.objects.filter(student=students["S0001"]).values_list("kind", "periods")
    ) == {"02": 2, "12": 7}


def test_attendance_bad_rows(school, term, students):
    long_rows = [
        ["學號", "缺勤種類代碼", "節數"],
        ["S0001", "13", 1],
        ["S0001", "遲到", 1],
        ["S0001", "02", -1],
        ["S0001", "02", 1000],
        ["S0001", "02", "two"],
        ["S0001", "事假", 2],
        ["S0001", "02", 2],
        ["S9999", "02", 2],
        ["S0002", "", 2],
    ]
    result = run("attendance", xlsx_bytes(long_rows), school, term=term, apply=True)
    assert problems(result) == {
        (2, "缺勤種類代碼", "absence_kind"),
        (3, "缺勤種類代碼", "absence_kind"),
        (4, "節數", "out_of_range"),
        (5, "節數", "out_of_range"),
        (6, "節數", "integer"),
        (8, "缺勤種類代碼", "duplicate"),
        (9, "學號", "student_unknown"),
        (10, "缺勤種類代碼", "required"),
    }
    wide_rows = [["學號", "公假", "曠課"], ["S0001", 1, "x"], ["S0002", 1, 1], ["S0002", 2, 2]]
    result = run("attendance", xlsx_bytes(wide_rows), school, term=term, apply=True)
    assert problems(result) == {(2, "曠課", "integer"), (4, "學號", "duplicate")}
    neither = run("attendance", csv_bytes([["學號", "備註"], ["S0001", "x"]]), school, term=term)
    assert {(p[1], p[2]) for p in problems(neither)} == {
        ("缺勤種類代碼", "missing_column"),
        ("節數", "missing_column"),
    }
    assert not AttendanceSummary.objects.exists()


def test_a_large_attendance_file_imports_quickly(school, term):
    count = 3000
    students = [
        STUDENT_HEADER,
        *(
            student_row(i, class_name=f"1{i // 50 % 10:02d}", seat=i % 50 + 1)
            for i in range(1, count + 1)
        ),
    ]
    assert run("students", csv_bytes(students), school, apply=True)["written"]
    rows = [["學號", "缺勤種類代碼", "節數"]]
    rows += [
        [f"S{i:04d}", f"{k:02d}", (i + k) % 9 + 1]
        for i in range(1, count + 1)
        for k in range(1, 13)
    ]
    data = csv_bytes(rows)
    started = time.monotonic()
    result = run("attendance", data, school, term=term, apply=True)
    elapsed = time.monotonic() - started
    assert result["written"] and result["counts"]["added"] == count * 12
    assert AttendanceSummary.objects.count() == count * 12
    assert elapsed < 20, elapsed
    started = time.monotonic()
    again = run("attendance", data, school, term=term, apply=True)
    assert again["counts"]["unchanged"] == count * 12
    assert time.monotonic() - started < 20


# The command -----------------------------------------------------------------------------


def run_command(*args):
    out = io.StringIO()
    with translation.override("en"):
        call_command("import_records", *args, stdout=out)
    return out.getvalue()


def test_command_imports_each_kind(school, term, students, tmp_path):
    label = f"{term.school_year.roc_year}-1"
    files = {
        "cadre_posts": xlsx_bytes(cadre_rows(term)),
        "clubs": csv_bytes([["學號", "社團名稱"], ["S0001", "吉他社"]]),
        "attendance": csv_bytes([["學號", "病假"], ["S0001", 2]]),
    }
    outputs = {}
    for kind, data in files.items():
        path = tmp_path / f"{kind}.bin"
        path.write_bytes(data)
        outputs[kind] = run_command(kind, str(path), "--school", school.code, "--term", label)
        assert "Imported." in outputs[kind] and "problems: 0" in outputs[kind]
        output = run_command(kind, str(path), "--school", school.code, "--term", label)
        assert "to add: 0; to change: 0" in output
    assert "Clubs created: 吉他社" in outputs["clubs"]
    assert CadrePost.objects.count() == 3 and AttendanceSummary.objects.count() == 1


def test_command_fails_on_a_bad_row_and_needs_a_term(school, term, students, tmp_path):
    path = tmp_path / "attendance.csv"
    path.write_bytes(csv_bytes([["學號", "病假"], ["S0001", 2], ["S0002", "x"]]))
    out = io.StringIO()
    label = f"{term.school_year.roc_year}-1"
    with translation.override("en"), pytest.raises(CommandError, match="1 problems"):
        call_command(
            "import_records",
            "attendance",
            str(path),
            "--school",
            school.code,
            "--term",
            label,
            stdout=out,
        )
    assert "row 3, 病假: Not a whole number." in out.getvalue()
    assert not AttendanceSummary.objects.exists()
    with translation.override("en"), pytest.raises(CommandError):
        call_command("import_records", "attendance", str(path), "--school", school.code, stdout=out)
    assert "Choose the term" in out.getvalue()


# The pages -------------------------------------------------------------------------------


def test_student_affairs_sees_its_own_kinds_and_templates(affairs, school, make_member):
    client = english(client_for(affairs))
    html = client.get(INDEX).content.decode()
    for kind in ("cadre_posts", "clubs", "attendance"):
        assert f'value="{kind}"' in html
        response = client.get(reverse("imports:template", args=[kind]))
        assert response.status_code == 200
        book = load_workbook(io.BytesIO(response.content), read_only=True)
        header = next(book.worksheets[0].iter_rows(values_only=True))
        assert list(header) == KINDS[kind].template_headers
    assert 'value="students"' not in html and 'value="courses"' not in html
    assert client.get(reverse("imports:template", args=["grades"])).status_code == 404
    registry = client_for(make_member(school, Role.REGISTRY))
    html = registry.get(INDEX).content.decode()
    assert 'value="attendance"' not in html and 'value="students"' in html
    assert registry.get(reverse("imports:template", args=["clubs"])).status_code == 404
    assert client_for(make_member(school, Role.TEACHER)).get(INDEX).status_code == 403


def test_student_affairs_previews_and_imports_through_the_page(
    affairs, school, term, students, django_capture_on_commit_callbacks
):
    client = english(client_for(affairs))
    data = csv_bytes([["學號", "缺勤種類代碼", "節數"], ["S0001", "事假", 2], ["S0002", "99", 1]])
    job = start(
        client,
        data,
        django_capture_on_commit_callbacks,
        kind="attendance",
        term=term,
        name="absences.csv",
    )
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and not job.result["clean"]
    html = page(client, job)
    assert "Not a kind of absence" in html and "缺勤種類代碼" in html

    data = csv_bytes([["學號", "缺勤種類代碼", "節數"], ["S0001", "事假", 2]])
    job = start(
        client, data, django_capture_on_commit_callbacks, kind="attendance", term=term, name="a.csv"
    )
    job.refresh_from_db()
    assert job.result["clean"], job.result["errors"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports:apply", args=[job.pk]))
    applied = Job.objects.latest("pk")
    assert response.url == reverse("imports:detail", args=[applied.pk])
    applied.refresh_from_db()
    assert applied.status == JobStatus.SUCCEEDED and applied.result["written"]
    assert AttendanceSummary.objects.get().periods == 2
    log = AuditLog.objects.get(action="import.attendance")
    assert log.changes["added"] == 1
    assert "a.csv" in page(client, applied)


def test_the_form_needs_a_term_for_student_affairs_kinds(affairs, students):
    client = english(client_for(affairs))
    response = client.post(
        INDEX,
        {
            "kind": "clubs",
            "file": SimpleUploadedFile("c.csv", "學號,社團名稱\nS0001,吉他社\n".encode()),
        },
    )
    assert response.status_code == 200
    assert "Choose the term this file belongs to." in response.content.decode()
    assert not Job.objects.exists()


def test_another_schools_user_and_colleagues_are_refused(
    affairs, school, other_school, term, students, make_member, django_capture_on_commit_callbacks
):
    client = english(client_for(affairs))
    data = csv_bytes([["學號", "社團名稱"], ["S0001", "吉他社"]])
    job = start(client, data, django_capture_on_commit_callbacks, kind="clubs", term=term)
    outsider = client_for(make_member(other_school, Role.STUDENT_AFFAIRS, username="olga"))
    colleague = client_for(make_member(school, Role.STUDENT_AFFAIRS, username="sam"))
    registry = client_for(make_member(school, Role.REGISTRY, username="reg"))
    for other in (outsider, colleague, registry):
        assert other.get(reverse("imports:detail", args=[job.pk])).status_code == 404
        assert other.post(reverse("imports:apply", args=[job.pk])).status_code == 404
        assert other.get(reverse("imports:export", args=[job.pk])).status_code == 404
    # Another school's clerk cannot import into this school's term.
    other_client = client_for(make_member(other_school, Role.STUDENT_AFFAIRS, username="olga2"))
    response = other_client.post(
        INDEX,
        {"kind": "clubs", "term": term.pk, "file": SimpleUploadedFile("c.csv", data)},
    )
    assert response.status_code == 200
    assert Job.objects.count() == 1
    assert not ClubMembership.objects.exists()
