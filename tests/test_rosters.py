"""Roster packages for the central database: the workbook in the central layout, the files zip
with its manifest, the pre-check's problems, idempotent and single builds, an interrupted build
completed by the next, the diff with the last submission, submitting, freezing and reopening."""

import csv
import datetime as dt
import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from accounts.models import Division, Role
from portfolio.models import AuditLog, Window, WindowKind
from records.models import CadrePost, Gender
from submissions.models import (
    CourseOutcome,
    OutcomeState,
    PackageState,
    Performance,
    RosterPackage,
    Selection,
)
from submissions.services import rosters
from submissions.services.packages import STALE_AFTER
from submissions.services.performances import student_may_change as performance_edit_refusal
from submissions.services.selection import selection_save
from tests.builders.people import acting, client_for, english
from tests.builders.rosters import RosterClass, SelectedYear, build, code, stored_bytes
from tests.builders.selection import SelectionWorld


@pytest.fixture
def registry(school, make_member):
    return make_member(school, Role.REGISTRY)


@pytest.fixture
def world(school):
    return SelectedYear(school)


def _book(package):
    with package.workbook.open("rb") as handle:
        return load_workbook(io.BytesIO(handle.read()))


def _zip(package):
    with package.files_zip.open("rb") as handle:
        return zipfile.ZipFile(io.BytesIO(handle.read()))


def test_roster_26_in_the_central_layout_with_its_files(
    school, registry, world, django_capture_on_commit_callbacks
):
    package = build(
        acting(registry), "outcomes", world.year, capture=django_capture_on_commit_callbacks
    )
    assert package.state == PackageState.BUILT, package.findings
    roc_year = world.year.roc_year
    assert package.file_name.startswith(f"{school.code}_{roc_year}_0_26_")
    assert package.file_name.endswith(".xlsx") and len(package.file_name) == len(
        f"{school.code}_{roc_year}_0_26_20261204_10_00_00.xlsx"
    )
    book = _book(package)
    assert book.sheetnames == ["封面", "學期課程學習成果"]
    assert list(book["封面"].values) == [
        ("學校代碼", "學年度", "學期", "名冊別"),
        (school.code, roc_year, 0, 26),
    ]
    rows = list(book["學期課程學習成果"].values)
    assert rows[0] == (
        "身分證號", "出生日期", "實際修課學期", "課程代碼", "科目名稱", "開課年級", "修課學分",
        "成果簡述",
    )  # fmt: skip
    first = world.students[0]
    assert rows[1] == (
        first.national_id,
        "0980501",
        f"{roc_year}1",
        code(school, n=1),
        "物理1",
        10,
        4,
        "成果1",
    )
    assert len(rows) == 3 and package.row_count == 2 and package.file_count == 2

    archive = _zip(package)
    manifest = list(csv.reader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    assert manifest[0] == [
        "檔案",
        "sha256",
        "位元組",
        "名冊別",
        "工作表",
        "身分證號",
        "出生日期",
        "項目",
    ]
    path, digest = manifest[1][0], manifest[1][1]
    assert path.startswith(f"{first.national_id}/學期課程學習成果/") and path.endswith(".pdf")
    assert archive.read(path) == b"%PDF outcome 1"
    assert digest == world.outcomes[0].document.sha256
    assert set(package.outcomes.all()) == set(world.outcomes)


def test_roster_25_has_every_sheet_in_order_and_files(
    registry, world, django_capture_on_commit_callbacks
):
    package = build(
        acting(registry), "performances", world.year, capture=django_capture_on_commit_callbacks
    )
    assert package.state == PackageState.BUILT and package.roster == 25
    book = _book(package)
    assert book.sheetnames[0] == "封面" and len(book.sheetnames) == 11
    assert book.sheetnames[8] == "作品成果紀錄"
    works = list(book["作品成果紀錄"].values)
    assert works[0] == ("身分證號", "出生日期", "名稱", "日期", "內容簡述")
    assert [r[2] for r in works[1:]] == ["作品1", "作品2"] and works[1][3] == "1151001"
    assert list(book["競賽參與紀錄"].values)[1:] == []  # a sheet without rows keeps its header
    assert len(_zip(package).namelist()) == 3  # two files and the manifest


def test_the_same_data_builds_the_same_content_and_one_build_runs_at_a_time(
    registry, world, django_capture_on_commit_callbacks
):
    by = acting(registry)
    first = build(by, "outcomes", world.year, capture=django_capture_on_commit_callbacks)
    second = build(by, "outcomes", world.year, capture=django_capture_on_commit_callbacks)
    assert first.pk != second.pk and first.content_sha256 == second.content_sha256
    # A start while a build runs gives that build.
    kind = rosters.KINDS_BY_KEY["outcomes"]
    running = rosters.package_start(acting=by, kind=kind, school_year=world.year, term=None)
    again = rosters.package_start(acting=by, kind=kind, school_year=world.year, term=None)
    assert running.pk == again.pk and running.state == PackageState.BUILDING
    assert RosterPackage.objects.filter(state=PackageState.BUILDING).count() == 1


def test_a_build_whose_worker_died_is_interrupted_and_the_next_completes(
    registry, world, django_capture_on_commit_callbacks
):
    by = acting(registry)
    kind = rosters.KINDS_BY_KEY["outcomes"]
    stuck = rosters.package_start(acting=by, kind=kind, school_year=world.year, term=None)
    later = timezone.now() + STALE_AFTER + dt.timedelta(seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        fresh = rosters.package_start(
            acting=by, kind=kind, school_year=world.year, term=None, now=later
        )
    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert stuck.state == PackageState.INTERRUPTED and not stuck.workbook
    with translation.override("en"):
        assert stuck.job.status == "failed"
        assert "stopped before it finished" in str(stuck.job.failure_message)
    assert fresh.state == PackageState.BUILT and fresh.pk != stuck.pk


def test_problems_block_the_submission(registry, world, django_capture_on_commit_callbacks):
    from django.core.files.storage import default_storage

    default_storage.delete(world.outcomes[1].document.storage_path)  # lost from storage
    world.students[0].birth_date = None
    world.students[0].save()
    with translation.override("en"):
        package = build(
            acting(registry), "outcomes", world.year, capture=django_capture_on_commit_callbacks
        )
        assert package.state == PackageState.PROBLEMS
        messages = " ".join(p["message"] for p in package.findings["problems"])
        assert "date of birth is missing" in messages and "missing from the school's storage" in (
            messages
        )
        with pytest.raises(ValidationError, match="pre-check found problems"):
            rosters.package_submit(package=package, acting=acting(registry))
    assert package.outcomes.count() == 0


def test_an_open_selection_is_left_out_and_said_so(
    registry, world, django_capture_on_commit_callbacks
):
    Selection.objects.filter(student=world.students[1]).update(locked_at=None)
    with translation.override("en"):
        package = build(
            acting(registry), "outcomes", world.year, capture=django_capture_on_commit_callbacks
        )
    assert package.state == PackageState.BUILT and package.row_count == 1
    assert package.findings["excluded"][0]["student"] == world.students[1].student_number
    assert "still open" in package.findings["excluded"][0]["message"]


def test_submitting_freezes_the_items_until_the_registry_reopens(
    registry, world, django_capture_on_commit_callbacks
):
    by = acting(registry)
    package = build(by, "performances", world.year, capture=django_capture_on_commit_callbacks)
    rosters.package_submit(package=package, acting=by)
    package.refresh_from_db()
    assert package.state == PackageState.SUBMITTED and package.transport == "download"
    item = world.performances[0]
    with translation.override("en"):
        assert "cannot change until the registry reopens" in rosters.frozen_refusal(item)
    assert rosters.frozen_ids(Performance, [p.pk for p in world.performances]) == {
        p.pk for p in world.performances
    }
    with pytest.raises(ValidationError):
        rosters.package_submit(package=package, acting=by)  # once only
    with pytest.raises(ValidationError):
        rosters.package_reopen(package=package, acting=by, reason="  ")
    rosters.package_reopen(package=package, acting=by, reason="學生更正作品名稱")
    package.refresh_from_db()
    assert package.state == PackageState.REOPENED and rosters.frozen_refusal(item) is None
    actions = set(AuditLog.objects.values_list("action", flat=True))
    assert {"roster.build", "roster.submit", "roster.reopen"} <= actions


def test_a_student_can_neither_drop_nor_change_a_submitted_item(school, make_member):
    world = SelectionWorld(school, make_member)
    outcome, performance = world.outcome(), world.performance()
    now = timezone.now()
    selection_save(
        student=world.student, school_year=world.year, outcome_ids=[outcome.pk],
        performance_ids=[performance.pk], by=world.by, now=now,
    )  # fmt: skip
    package = RosterPackage.objects.create(
        school=school, school_year=world.year, roster=25, division=Division.DAY,
        spec_version="108", state=PackageState.SUBMITTED, submitted_at=now,
    )  # fmt: skip
    package.performances.add(performance)
    page = world.client().get(reverse("selection:select", args=[world.year.roc_year]))
    html = page.content.decode()
    assert "stays selected until the registry reopens the roster" in html
    # Ticked and disabled, and still sent with the form (a disabled box is not).
    assert f'<input type="hidden" name="performances" value="{performance.pk}">' in html
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        selection_save(
            student=world.student, school_year=world.year, outcome_ids=[],
            performance_ids=[], by=world.by, now=now,
        )  # fmt: skip
    assert "stays selected until the registry reopens" in " ".join(refused.value.messages)
    with translation.override("en"):
        assert "registry reopens the roster" in performance_edit_refusal(performance)
        package.state = PackageState.REOPENED
        package.save()
        # Free again: what still stops a change is only the upload window's being closed.
        assert "reopens" not in (performance_edit_refusal(performance) or "")
    selection_save(
        student=world.student, school_year=world.year, outcome_ids=[], performance_ids=[],
        by=world.by, now=now,
    )  # fmt: skip


def test_the_next_build_says_what_changed_since_the_submission(
    registry, world, django_capture_on_commit_callbacks
):
    by = acting(registry)
    first = build(by, "outcomes", world.year, capture=django_capture_on_commit_callbacks)
    assert first.diff is None
    rosters.package_submit(package=first, acting=by)
    CourseOutcome.objects.filter(pk=world.outcomes[0].pk).update(description="改寫的成果")
    Selection.objects.get(student=world.students[1]).outcomes.clear()
    second = build(by, "outcomes", world.year, capture=django_capture_on_commit_callbacks)
    assert (second.diff["added"], second.diff["changed"], second.diff["removed"]) == (0, 1, 1)
    html = (
        english(client_for(registry))
        .get(reverse("rosters:package", args=[second.pk]))
        .content.decode()
    )
    assert "0 rows added, 1 changed, 1 removed." in html
    assert f"{code(second.school, n=1)} 報告1" in html  # the changed outcome by its title
    # Submitting the new one supersedes the old: only its items stay frozen.
    rosters.package_submit(package=second, acting=by)
    first.refresh_from_db()
    assert first.superseded_at is not None
    assert rosters.frozen_ids(CourseOutcome, [o.pk for o in world.outcomes]) == {
        world.outcomes[0].pk
    }


def test_rosters_1_2_and_24(school, registry, make_member, django_capture_on_commit_callbacks):
    roster = RosterClass(school)
    student = roster.student(gender=Gender.MALE, department_code="101")
    roster.enrol(student, roster.course(code(school)), score=88, passed=True, counts_credit="1")
    by = acting(registry)
    term, year = roster.term, roster.term.school_year

    students = build(by, "students", year, term, django_capture_on_commit_callbacks)
    assert students.state == PackageState.BUILT and students.file_name.split("_")[2:4] == ["1", "1"]
    rows = list(_book(students)["學生資料"].values)
    assert rows[0][:4] == ("身分證號", "出生日期", "性別代碼", "群別代碼")
    assert rows[1][:9] == (student.national_id, "0980501", "1", None, "101", "1", "1", 10, "101")
    assert not students.files_zip

    grades = build(by, "grades", year, term, django_capture_on_commit_callbacks)
    row = list(_book(grades)["學期成績"].values)[1]
    assert row[2] == code(school) and row[6:10] == (88, 1, -1, None)

    affairs = make_member(school, Role.STUDENT_AFFAIRS)
    CadrePost.objects.create(
        school=school, student=student, term=term, unit="學生會", title="會長", level="1",
        starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2027, 1, 20),
    )  # fmt: skip
    CadrePost.objects.create(
        school=school, student=student, term=term, unit="實習工廠", title="組長", level="4",
        starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2027, 1, 20),
    )  # fmt: skip
    cadres = build(acting(affairs), "cadres", year, term, django_capture_on_commit_callbacks)
    assert cadres.roster == 24 and cadres.state == PackageState.PROBLEMS  # level 4 refused
    assert list(_book(cadres)["幹部經歷紀錄"].values)[1][2:] == (
        "學生會", "1150901", "1160120", "會長", "1",
    )  # fmt: skip
    with pytest.raises(PermissionError):
        rosters.package_start(
            acting=acting(affairs), kind=rosters.KINDS_BY_KEY["grades"], school_year=year, term=term
        )


def test_the_continuing_division_builds_roster_28(
    school, make_member, django_capture_on_commit_callbacks
):
    member = make_member(school, Role.REGISTRY, division=Division.CONTINUING)
    roster = RosterClass(school, division=Division.CONTINUING, name="801")
    student = roster.student()
    roster.enrol(student, roster.course(code(school)))
    outcome = CourseOutcome.objects.create(
        school=school, student=student, enrolment=student.enrolments.get(), title="報告",
        state=OutcomeState.CERTIFIED, document=stored_bytes(student, b"%PDF 28"),
    )  # fmt: skip
    selection = Selection.objects.create(
        school=school, student=student, school_year=roster.term.school_year,
        locked_at=timezone.now(),
    )  # fmt: skip
    selection.outcomes.set([outcome])
    package = build(
        acting(member),
        "outcomes",
        roster.term.school_year,
        capture=django_capture_on_commit_callbacks,
    )
    assert package.roster == 28 and package.state == PackageState.BUILT
    assert "修課節數" in next(_book(package)["學期課程學習成果"].values)


# --- pages ------------------------------------------------------------------------------------


def test_the_registry_builds_submits_and_reopens_from_its_pages(
    registry, world, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    client = english(client_for(registry))
    year_url = reverse("rosters:year", args=[world.year.roc_year])
    page = client.get(year_url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Build roster 26" in html and "Build roster 1, " in html and "Not built" in html
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("rosters:build", args=[world.year.roc_year]), {"kind": "outcomes"}
        )
    package = RosterPackage.objects.get()
    assert response["Location"] == reverse("rosters:package", args=[package.pk])
    html = client.get(response["Location"]).content.decode()
    assert "Ready to submit" in html and "Record as submitted" in html
    assert "every row is new" in html
    workbook = client.get(reverse("rosters:workbook", args=[package.pk]))
    assert workbook.status_code == 200 and package.file_name in workbook["Content-Disposition"]
    assert b"".join(workbook.streaming_content).startswith(b"PK")
    files = client.get(reverse("rosters:files", args=[package.pk]))
    assert b"".join(files.streaming_content).startswith(b"PK")

    client.post(reverse("rosters:submit", args=[package.pk]))
    html = client.get(reverse("rosters:package", args=[package.pk])).content.decode()
    assert "Reopen the roster" in html, html
    assert "items frozen" in html
    refused = client.post(reverse("rosters:reopen", args=[package.pk]), {"reason": ""})
    assert refused.status_code == 400 and b"This field is required" in refused.content
    client.post(reverse("rosters:reopen", args=[package.pk]), {"reason": "更正"})
    package.refresh_from_db()
    assert package.state == PackageState.REOPENED

    with django_assert_max_num_queries(14):
        assert client.get(year_url).status_code == 200


def test_a_term_roster_needs_its_term_and_the_page_says_so(registry, world):
    client = english(client_for(registry))
    response = client.post(
        reverse("rosters:build", args=[world.year.roc_year]), {"kind": "grades"}, follow=True
    )
    assert b"Choose the term of this roster." in response.content
    assert not RosterPackage.objects.exists()


def test_offices_see_only_their_own_rosters(
    school, registry, make_member, world, django_capture_on_commit_callbacks
):
    package = build(
        acting(registry), "outcomes", world.year, capture=django_capture_on_commit_callbacks
    )
    affairs = english(client_for(make_member(school, Role.STUDENT_AFFAIRS)))
    html = affairs.get(reverse("rosters:year", args=[world.year.roc_year])).content.decode()
    assert "Build roster 24" in html and "Build roster 26" not in html
    assert affairs.get(reverse("rosters:package", args=[package.pk])).status_code == 404
    other = client_for(make_member(school, Role.REGISTRY, division=Division.CONTINUING))
    assert other.get(reverse("rosters:package", args=[package.pk])).status_code == 404
    refused = affairs.post(
        reverse("rosters:build", args=[world.year.roc_year]), {"kind": "outcomes"}, follow=True
    )
    assert refused.status_code == 200 and RosterPackage.objects.count() == 1


# --- grade 12's batches (梯次) -----------------------------------------------------------------


def _batch_windows(year, now):
    term1, term2 = year.terms.order_by("number")
    Window.objects.create(
        school=year.school, term=term1, kind=WindowKind.SELECTION, grade=12, batch=1,
        starts_at=now - dt.timedelta(days=10), ends_at=now - dt.timedelta(days=1),
    )  # fmt: skip
    Window.objects.create(
        school=year.school, term=term2, kind=WindowKind.SELECTION, grade=12, batch=2,
        starts_at=now + dt.timedelta(days=60), ends_at=now + dt.timedelta(days=70),
    )  # fmt: skip


def test_grade_12_sends_its_batches_once_each_and_not_in_the_yearly_roster(
    school, registry, world, django_capture_on_commit_callbacks
):
    by = acting(registry)
    now = timezone.now()
    _batch_windows(world.year, now)
    senior = RosterClass(school, name="301")
    senior.klass.grade = 12
    senior.klass.save()
    student = senior.student()
    outcomes = []
    for n in range(3):
        senior.enrol(student, senior.course(code(school, n=10 + n), f"專題{n}"))
        outcomes.append(
            CourseOutcome.objects.create(
                school=school, student=student, title=f"專題{n}", state=OutcomeState.CERTIFIED,
                enrolment=student.enrolments.get(course__code=code(school, n=10 + n)),
                document=stored_bytes(student, f"%PDF senior {n}".encode()),
            )
        )  # fmt: skip
    selection = Selection.objects.create(school=school, student=student, school_year=world.year)
    selection.outcomes.set(outcomes[:2])

    first = build(by, "outcomes_batch1", world.year, capture=django_capture_on_commit_callbacks)
    assert first.roster == 36 and first.state == PackageState.BUILT and first.row_count == 2
    selection.refresh_from_db()
    assert selection.is_locked  # the batch's window had closed: the build locked it first
    yearly = build(by, "outcomes", world.year, capture=django_capture_on_commit_callbacks)
    assert yearly.row_count == 2 and not yearly.outcomes.filter(student=student).exists()
    rosters.package_submit(package=first, acting=by)

    # The second batch adds one; what the first sent stays and is not sent again.
    selection.outcomes.add(outcomes[2])
    second = build(by, "outcomes_batch2", world.year, capture=django_capture_on_commit_callbacks)
    assert second.roster == 76 and list(second.outcomes.all()) == [outcomes[2]]
    client = english(client_for(registry))
    html = client.get(reverse("rosters:year", args=[world.year.roc_year])).content.decode()
    assert "Build roster 36" in html and "Build roster 76" in html


def test_a_batch_window_is_grade_12_selection_only(school):
    from portfolio.services import window_create

    term = school.years.get().terms.order_by("number").first()
    now = timezone.now()
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        window_create(
            term=term, kind=WindowKind.SELECTION, grade=11, batch=1,
            starts_at=now, ends_at=now + dt.timedelta(days=3), by=None,
        )  # fmt: skip
    assert "Only grade 12's selection windows come in batches" in str(refused.value)
    window = window_create(
        term=term, kind=WindowKind.SELECTION, grade=12, batch=1,
        starts_at=now, ends_at=now + dt.timedelta(days=3), by=None,
    )  # fmt: skip
    assert window.batch == 1


def test_grade_12_cadre_posts_go_in_batch_rosters_34_and_74(
    school, make_member, django_capture_on_commit_callbacks
):
    affairs = acting(make_member(school, Role.STUDENT_AFFAIRS))
    senior = RosterClass(school, name="301")
    senior.klass.grade = 12
    senior.klass.save()
    year, term = senior.term.school_year, senior.term
    _batch_windows(year, timezone.now())
    student = senior.student()
    junior = RosterClass(school, name="101").student()

    def post(who, title):
        return CadrePost.objects.create(
            school=school, student=who, term=term, unit="班級", title=title, level="2",
            starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2027, 1, 20),
        )  # fmt: skip

    post(student, "班長")
    post(junior, "副班長")
    capture = django_capture_on_commit_callbacks
    first = build(affairs, "cadres_batch1", year, capture=capture)
    assert first.roster == 34 and first.term_number == 0 and first.row_count == 1
    ordinary = build(affairs, "cadres", year, term, capture)
    assert ordinary.row_count == 1  # the grade-10 post only
    rosters.package_submit(package=first, acting=affairs)
    post(student, "風紀股長")
    second = build(affairs, "cadres_batch2", year, capture=capture)
    assert second.roster == 74
    assert [r[5] for r in list(_book(second)["幹部經歷紀錄"].values)[1:]] == ["風紀股長"]


def test_two_outcomes_of_one_course_are_two_rows_and_two_files(
    registry, world, django_capture_on_commit_callbacks
):
    student, first = world.students[0], world.outcomes[0]
    again = CourseOutcome.objects.create(
        school=student.school, student=student, enrolment=first.enrolment, title="報告1之二",
        state=OutcomeState.CERTIFIED, document=stored_bytes(student, b"%PDF second"),
    )  # fmt: skip
    Selection.objects.get(student=student).outcomes.add(again)
    package = build(
        acting(registry), "outcomes", world.year, capture=django_capture_on_commit_callbacks
    )
    assert package.row_count == 3 and len(package.row_digests) == 3
    names = [n for n in _zip(package).namelist() if n != "manifest.csv"]
    assert len(names) == len(set(names)) == 3
