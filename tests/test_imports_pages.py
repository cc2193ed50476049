"""The import pages, their background jobs and the import_records command."""

import datetime as dt
import io

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from accounts import services as account_services
from accounts.acting import ActingContext
from accounts.models import Division, Role
from portfolio.models import AuditLog, Job, JobStatus, Term
from records.imports import KINDS
from records.imports.messages import describe
from records.models import Student
from records.services import imports as services
from tests.builders.imports import (
    INDEX,
    STUDENT_HEADER,
    bad_checksum,
    nid,
    page,
    roster,
    start,
    student_row,
    upload,
    xlsx_bytes,
)
from tests.builders.people import client_for, english


@pytest.fixture
def term(school, current_roc_year) -> Term:
    return Term.objects.get(school=school, school_year__roc_year=current_roc_year, number=1)


@pytest.fixture
def registry(school, make_member):
    return make_member(school, Role.REGISTRY, username="rita")


@pytest.fixture
def rita(registry):
    return english(client_for(registry))


# Pages ---------------------------------------------------------------------------------


def test_each_office_sees_its_own_kinds(rita, school, make_member):
    html = rita.get(INDEX).content.decode()
    assert 'value="students"' in html and 'value="grades"' in html
    assert 'value="courses"' not in html and 'value="enrolments"' not in html
    assert reverse("imports:template", args=["students"]) in html
    curriculum = client_for(make_member(school, Role.CURRICULUM))
    html = curriculum.get(INDEX).content.decode()
    assert 'value="courses"' in html and 'value="enrolments"' in html
    assert 'value="students"' not in html


def test_bad_rows_are_shown_with_row_column_and_reason_then_a_clean_file_imports(
    rita, registry, school, django_capture_on_commit_callbacks
):
    rows = roster(3)
    rows[2][1] = bad_checksum(rows[2][1])
    rows[3][4] = "1140230"
    job = start(rita, xlsx_bytes(rows), django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.kind == services.PREVIEW_JOB
    assert job.input_file.name.startswith("jobs/input/import-students")
    html = page(rita, job)
    assert "Problems (2)" in html
    assert "The check digit does not match" in html
    assert "This date does not exist: 1140230." in html
    assert "<td>3</td>" in html and "<td>4</td>" in html
    assert reverse("imports:apply", args=[job.pk]) not in html  # no confirm button
    assert not Student.objects.exists()
    # Confirming a file with problems is refused.
    response = rita.post(reverse("imports:apply", args=[job.pk]))
    assert response.status_code == 302 and not Job.objects.filter(kind=services.APPLY_JOB)

    job = start(rita, xlsx_bytes(roster(3)), django_capture_on_commit_callbacks)
    html = page(rita, job, show="added")
    assert "Import: add 3, change 0" in html
    assert reverse("imports:apply", args=[job.pk]) in html
    assert "S0001" in html
    with django_capture_on_commit_callbacks(execute=True):
        response = rita.post(reverse("imports:apply", args=[job.pk]))
    applied = Job.objects.get(kind=services.APPLY_JOB)
    assert response.url == reverse("imports:detail", args=[applied.pk])
    applied.refresh_from_db()
    assert applied.status == JobStatus.SUCCEEDED and applied.result["written"]
    assert Student.objects.filter(school=school).count() == 3
    assert "Imported: 3 added, 0 changed." in page(rita, applied)
    assert "This file has been imported." in page(rita, job)
    audit = AuditLog.objects.get(action="import.students")
    assert audit.actor == registry.user and audit.target_id == str(applied.pk)
    # A second press starts nothing new.
    response = rita.post(reverse("imports:apply", args=[job.pk]))
    assert response.url == reverse("imports:detail", args=[applied.pk])
    assert Job.objects.filter(kind=services.APPLY_JOB).count() == 1


def test_the_form_keeps_errors_next_to_fields(rita, school):
    response = rita.post(INDEX, {"kind": "grades", "file": upload(b"x", "grades.txt")})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_file_error"' in html and 'id="id_term_error"' in html
    assert not Job.objects.exists()


def test_a_running_job_shows_progress_and_a_failed_one_says_so(rita, registry, school):
    job = Job.objects.create(
        school=school,
        kind=services.PREVIEW_JOB,
        created_by=registry.user,
        status=JobStatus.RUNNING,
        progress=40,
        params={"kind": "students", "file_name": "roster.xlsx"},
    )
    html = page(rita, job)
    assert 'value="40"' in html and "js/job.js" in html
    assert reverse("portal:job_status", args=[job.pk]) in html
    # A job failed before failures kept a code: its exception's text is not shown.
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, message="ValueError: boom")
    html = page(rita, job)
    assert "The work failed" in html and "recorded for the platform" in html
    assert "boom" not in html


def test_other_offices_colleagues_and_schools_get_404(
    rita, registry, school, other_school, make_member, django_capture_on_commit_callbacks
):
    job = start(rita, xlsx_bytes(roster(1)), django_capture_on_commit_callbacks)
    urls = [
        reverse("imports:detail", args=[job.pk]),
        reverse("imports:export", args=[job.pk]),
    ]
    colleague = client_for(make_member(school, Role.REGISTRY))
    curriculum = client_for(make_member(school, Role.CURRICULUM))
    outsider = client_for(make_member(other_school, Role.REGISTRY))
    teacher = client_for(make_member(school, Role.TEACHER))
    for url in urls:
        assert rita.get(url).status_code == 200
        assert colleague.get(url).status_code == 404
        assert curriculum.get(url).status_code == 404
        assert outsider.get(url).status_code == 404
        assert teacher.get(url).status_code == 403
    apply = reverse("imports:apply", args=[job.pk])
    assert colleague.post(apply).status_code == 404
    assert outsider.post(apply).status_code == 404
    assert not Job.objects.filter(kind=services.APPLY_JOB).exists()
    # The same user acting as curriculum does not see the registry's imports either.
    account_services.membership_add(
        school=school, user=registry.user, role=Role.CURRICULUM, division=Division.DAY, by=None
    )
    from accounts.models import Membership

    as_curriculum = client_for(Membership.objects.get(user=registry.user, role=Role.CURRICULUM))
    assert as_curriculum.get(urls[0]).status_code == 404
    assert urls[0] not in as_curriculum.get(INDEX).content.decode()
    assert urls[0] in rita.get(INDEX).content.decode()


def test_templates_have_the_header_row_only(rita, school, make_member):
    response = rita.get(reverse("imports:template", args=["grades"]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows == [tuple(column.header for column in KINDS["grades"].columns)]
    assert rita.get(reverse("imports:template", args=["courses"])).status_code == 404
    assert rita.get(reverse("imports:template", args=["nope"])).status_code == 404
    curriculum = client_for(make_member(school, Role.CURRICULUM))
    assert curriculum.get(reverse("imports:template", args=["courses"])).status_code == 200


def test_lists_export_as_xlsx(rita, django_capture_on_commit_callbacks):
    rows = roster(2)
    rows[1][1] = "bad"
    job = start(rita, xlsx_bytes(rows), django_capture_on_commit_callbacks)
    url = reverse("imports:export", args=[job.pk])
    response = rita.get(url, {"show": "errors"})
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    lines = list(book.worksheets[0].iter_rows(values_only=True))
    assert lines[0] == ("Row", "Column", "Problem")
    assert lines[1][:2] == (2, "身分證號")
    response = rita.get(url, {"show": "added"})
    lines = list(load_workbook(io.BytesIO(response.content)).worksheets[0].values)
    assert [line[1] for line in lines[1:]] == ["S0002"]
    history = rita.get(INDEX, {"format": "xlsx"})
    assert history.status_code == 200
    lines = list(load_workbook(io.BytesIO(history.content)).worksheets[0].values)
    assert len(lines) == 2 and lines[1][2] == "roster.xlsx"


def test_lists_sort_and_page(rita, django_capture_on_commit_callbacks):
    rows = roster(120)
    for row in rows[1:]:
        row[1] = "bad"
    job = start(rita, xlsx_bytes(rows), django_capture_on_commit_callbacks)
    first = page(rita, job, show="errors")
    assert "Page 1 of 3" in first
    assert 'aria-current="page"' in first
    last = page(rita, job, show="errors", page=3)
    assert "<td>121</td>" in last and "<td>2</td>" not in last
    by_column = page(rita, job, show="errors", sort="column")
    assert 'value="column" selected' in by_column


def test_pages_run_a_constant_number_of_queries(
    rita, registry, school, django_assert_num_queries, django_capture_on_commit_callbacks
):
    def jobs(count):
        for _ in range(count):
            Job.objects.create(
                school=school,
                kind=services.PREVIEW_JOB,
                created_by=registry.user,
                status=JobStatus.SUCCEEDED,
                params={"kind": "students", "file_name": "r.xlsx"},
                result={"counts": {"added": 1, "changed": 0, "errors": 0}, "term": ""},
            )

    jobs(1)
    rita.get(INDEX)  # warm the session
    with CaptureQueriesContext(connection) as one:
        assert rita.get(INDEX).status_code == 200
    jobs(40)
    with django_assert_num_queries(len(one.captured_queries)):
        rita.get(INDEX)

    small = start(rita, xlsx_bytes(roster(3)), django_capture_on_commit_callbacks)
    big = start(rita, xlsx_bytes(roster(150)), django_capture_on_commit_callbacks)
    with CaptureQueriesContext(connection) as seen:
        page(rita, small, show="added")
    with django_assert_num_queries(len(seen.captured_queries)):
        page(rita, big, show="added")


def test_the_job_page_links_to_the_import(rita, django_capture_on_commit_callbacks):
    job = start(rita, xlsx_bytes(roster(1)), django_capture_on_commit_callbacks)
    html = rita.get(reverse("portal:job", args=[job.pk])).content.decode()
    assert reverse("imports:detail", args=[job.pk]) in html


def test_the_preview_speaks_the_readers_language(rita, django_capture_on_commit_callbacks):
    """The job keeps message codes: the same preview reads in either language."""
    rows = roster(1)
    rows[1][4] = "tomorrow"
    job = start(rita, xlsx_bytes(rows), django_capture_on_commit_callbacks)
    assert "Not a date" in page(rita, job)
    rita.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hant"
    with translation.override("zh-hant"):
        expected = describe("date_shape")
    assert expected in page(rita, job)


# Jobs ----------------------------------------------------------------------------------


def test_a_deputy_imports_for_the_clerk_and_the_audit_says_so(
    school, registry, make_member, term, django_capture_on_commit_callbacks
):
    deputy = make_member(school, Role.CURRICULUM, username="dora")
    record = account_services.deputy_create(
        school=school,
        role=Role.REGISTRY,
        division=Division.DAY,
        principal=registry.user,
        deputy=deputy.user,
        order=1,
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate() + dt.timedelta(days=5),
        by=None,
    )
    acting = ActingContext(user=deputy.user, membership=registry, deputy=record)
    with django_capture_on_commit_callbacks(execute=True):
        preview = services.import_start(
            kind="students", term=term, upload=upload(xlsx_bytes(roster(2))), by=acting
        )
    preview.refresh_from_db()
    assert preview.result["clean"] and preview.result["term"] == term.label
    with django_capture_on_commit_callbacks(execute=True):
        applied = services.import_confirm(preview=preview, by=acting)
    applied.refresh_from_db()
    assert applied.result["written"], applied.result
    audit = AuditLog.objects.get(action="import.students")
    assert audit.actor == deputy.user and audit.on_behalf_of == registry.user
    assert Student.objects.count() == 2


def test_start_refuses_other_offices_kinds_and_other_files(school, registry, term):
    acting = ActingContext(user=registry.user, membership=registry)
    with pytest.raises(Exception, match="kind"):
        services.import_start(kind="courses", term=term, upload=upload(b"x"), by=acting)
    with pytest.raises(Exception, match="file"):
        services.import_start(kind="students", term=None, upload=upload(b"x", "a.pdf"), by=acting)
    with pytest.raises(Exception, match="term"):
        services.import_start(kind="grades", term=None, upload=upload(b"x"), by=acting)


def test_the_apply_job_checks_again_and_writes_nothing_if_the_records_changed(
    school, registry, django_capture_on_commit_callbacks
):
    acting = ActingContext(user=registry.user, membership=registry)
    with django_capture_on_commit_callbacks(execute=True):
        preview = services.import_start(
            kind="students", term=None, upload=upload(xlsx_bytes(roster(2))), by=acting
        )
    preview.refresh_from_db()
    # Meanwhile someone else gives student 1's national ID to another student.
    taken = [STUDENT_HEADER, student_row(9)]
    taken[1][1] = nid(1)
    services.import_apply(
        kind="students",
        stream=io.BytesIO(xlsx_bytes(taken)),
        file_name="other.xlsx",
        school=school,
        term=None,
        by=None,
    )
    with django_capture_on_commit_callbacks(execute=True):
        applied = services.import_confirm(preview=preview, by=acting)
    applied.refresh_from_db()
    assert not applied.result["written"]
    assert applied.result["errors"][0]["code"] == "national_id_taken"
    assert Student.objects.count() == 1


# The command ---------------------------------------------------------------------------


def run_command(*args):
    out = io.StringIO()
    with translation.override("en"):
        call_command("import_records", *args, stdout=out)
    return out.getvalue()


def test_command_writes_a_clean_file_and_reports(school, tmp_path):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(xlsx_bytes(roster(3)))
    output = run_command("students", str(path), "--school", school.code)
    assert "Rows: 3; to add: 3; to change: 0" in output and "Imported." in output
    assert Student.objects.count() == 3
    output = run_command("students", str(path), "--school", school.code)
    assert "to add: 0; to change: 0; unchanged: 3" in output


def test_command_dry_run_writes_nothing(school, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(
        roster_csv := "\n".join(",".join(map(str, r)) for r in roster(2)).encode("cp950")
    )
    assert roster_csv
    output = run_command("students", str(path), "--school", school.code, "--dry-run", "-v", "2")
    assert "To add:" in output and "S0002" in output and "cp950" in output
    assert not Student.objects.exists()


def test_command_fails_on_any_bad_row_and_writes_nothing(school, tmp_path, term):
    rows = roster(2)
    rows[2][1] = bad_checksum(rows[2][1])
    path = tmp_path / "roster.xlsx"
    path.write_bytes(xlsx_bytes(rows))
    out = io.StringIO()
    with translation.override("en"), pytest.raises(CommandError, match="1 problems"):
        call_command("import_records", "students", str(path), "--school", school.code, stdout=out)
    assert "row 3, 身分證號: The check digit does not match" in out.getvalue()
    assert not Student.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--school", "000000"], "No school"),
        (["--school", "123456", "--term", "114/1"], "ROC_YEAR-TERM"),
        (["--school", "123456", "--term", "99-1"], "no term"),
    ],
)
def test_command_refuses_bad_arguments(school, tmp_path, args, message):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(xlsx_bytes(roster(1)))
    with translation.override("en"), pytest.raises(CommandError, match=message):
        call_command("import_records", "students", str(path), *args, stdout=io.StringIO())


def test_command_needs_a_term_for_grades(school, tmp_path, term):
    path = tmp_path / "grades.csv"
    path.write_bytes("學號,課程代碼,學期學業成績,及格\n".encode())
    out = io.StringIO()
    with translation.override("en"), pytest.raises(CommandError):
        call_command("import_records", "grades", str(path), "--school", school.code, stdout=out)
    assert "Choose the term" in out.getvalue()


# The demo ------------------------------------------------------------------------------


def test_demo_students_get_valid_unique_data_and_a_second_run_changes_nothing(
    school, current_roc_year
):
    from portal.management.commands.seed_demo import CLASSES, GIVEN, SURNAMES
    from portfolio.lib import national_id
    from records.demo import students as demo
    from records.services import students as record_services

    year = school.years.get(roc_year=current_roc_year)
    number = 0
    for class_name, grade in CLASSES:
        school_class = record_services.school_class_create(
            school=school,
            school_year=year,
            name=class_name,
            grade=grade,
            division=Division.DAY,
            homeroom_teacher=None,
            by=None,
        )
        for seat in range(1, 11):
            number += 1
            record_services.student_create(
                school=school,
                student_number=f"{year.roc_year - (grade - 10)}{number:04d}",
                name=SURNAMES[number % len(SURNAMES)] + GIVEN[number % len(GIVEN)],
                school_class=school_class,
                seat_number=seat,
                user=None,
                by=None,
            )
    demo.seed(school=school, year=year, staff={})
    students = list(Student.objects.filter(school=school).select_related("school_class"))
    ids = [s.national_id for s in students]
    assert len(set(ids)) == len(ids) == 30 and all(national_id.is_valid(i) for i in ids)
    for student in students:
        assert student.gender == student.national_id[1]
        assert student.gender == ("2" if student.name[1:] in demo.FEMALE_NAMES else "1")
        assert student.department_code == "101"
        # Grade 10 of school year Y was born from September of Y+1911-16 to August.
        first = dt.date(current_roc_year + 1911 - 16 - (student.school_class.grade - 10), 9, 2)
        assert first <= student.birth_date < first + dt.timedelta(days=366)
    audits = AuditLog.objects.filter(action="import.students").count()
    assert audits == 1
    demo.seed(school=school, year=year, staff={})
    assert AuditLog.objects.filter(action="import.students").count() == audits
    assert [s.national_id for s in Student.objects.filter(pk__in=[s.pk for s in students])] == ids


def test_the_upload_form_follows_the_language(rita):
    assert "At most 30 MB." in rita.get(INDEX).content.decode()
    rita.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hant"
    html = rita.get(INDEX).content.decode()
    with translation.override("zh-hant"):
        from records.forms.imports import _file_help

        expected = _file_help()
    assert expected in html.replace("&#x27;", "'")


def test_the_curriculum_office_imports_courses_for_a_term(
    school, term, make_member, django_capture_on_commit_callbacks
):
    from records.models import Course

    office = english(client_for(make_member(school, Role.CURRICULUM)))
    make_member(school, Role.TEACHER, username="wang", name="王老師")
    rows = [
        ["課程代碼", "科目名稱", "開課年級", "修課學分", "授課教師"],
        ["114123456H11101A1010101", "國語文", 10, 4, "wang"],
    ]
    job = start(
        office, xlsx_bytes(rows), django_capture_on_commit_callbacks, kind="courses", term=term
    )
    assert "Import: add 1, change 0" in page(office, job)
    with django_capture_on_commit_callbacks(execute=True):
        office.post(reverse("imports:apply", args=[job.pk]))
    course = Course.objects.get(term=term)
    assert course.name == "國語文" and [t.username for t in course.teachers.all()] == ["wang"]
