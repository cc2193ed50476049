"""The grade roster's pre-check: problems per student and column, rows left out, the
pre-check file in the central layout, and the registry's pages."""

import io

import pytest
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from accounts.models import Division, Role
from portfolio.jobs import job_start
from portfolio.models import Job, JobStatus
from records.models import StudentStatus
from submissions.services.precheck import PRECHECK_JOB
from tests.builders.people import acting, client_for, english
from tests.builders.rosters import RosterClass, code

Roster = RosterClass


def run(school, term, member, division=Division.DAY, django_capture_on_commit_callbacks=None):
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(
            school=school,
            kind=PRECHECK_JOB,
            params={"term": term.pk, "division": division, "language": "en"},
            by=acting(member),
        )
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    return job


@pytest.fixture
def registry(school, make_member):
    return make_member(school, Role.REGISTRY)


def test_problems_exclusions_and_the_file(school, registry, django_capture_on_commit_callbacks):
    roster = Roster(school)
    chinese = roster.course(code(school, n=1), "國語文")
    maths = roster.course(code(school, n=2), "數學")
    group = roster.course(code(school, category="8", attribute="1", n=3), "班級活動")
    flexible_d = roster.course(code(school, category="9", attribute="D", n=4), "充實教學")
    twice = roster.course(code(school, n=1), "國語文", section="B")
    wrong = roster.course("115999999H1101001010105", "外校課程")

    good = roster.student()
    roster.enrol(good, chinese, maths, group, flexible_d)
    no_birth = roster.student(birth=None)
    roster.enrol(no_birth, chinese)
    bad_id = roster.student(nid="A123456780")
    roster.enrol(bad_id, chinese)
    suspended = roster.student(status=StudentStatus.SUSPENDED)
    roster.enrol(suspended, chinese)
    doubled = roster.student()
    roster.enrol(doubled, chinese, twice, wrong)
    evening = Roster(school, division=Division.CONTINUING, name="801").student()
    roster.enrol(evening, chinese)

    job = run(
        school,
        roster.term,
        registry,
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )
    result = job.result
    assert result["passed"] is False
    problems = {(p["student"], p["field"]) for p in result["problems"]}
    assert problems == {
        (no_birth.student_number, "出生日期"),
        (bad_id.student_number, "身分證號"),
        (doubled.student_number, "課程代碼"),
    }
    # The doubled student has two: a code taken twice, and another school's code.
    assert result["problem_count"] == 4
    messages = " ".join(p["message"] for p in result["problems"])
    assert "twice" in messages and "date of birth is missing" in messages
    excluded = {(e["student"], e["field"]) for e in result["excluded"]}
    assert excluded == {(suspended.student_number, "學籍狀態"), (good.student_number, "課程代碼")}

    book = load_workbook(io.BytesIO(job.result_file.open("rb").read()))
    job.result_file.close()
    assert book.sheetnames == ["封面", "學期成績"]
    cover = list(book["封面"].values)
    assert cover == [
        ("學校代碼", "學年度", "學期", "名冊別"),
        (school.code, roster.term.school_year.roc_year, 1, 41),
    ]
    rows = list(book["學期成績"].values)
    assert rows[0][:6] == ("身分證號", "出生日期", "課程代碼", "科目名稱", "開課年級", "修課學分")
    sent = [(r[0], r[2]) for r in rows[1:]]
    assert sent == [
        (good.national_id, code(school, n=1)),
        (good.national_id, code(school, n=2)),
        (good.national_id, code(school, category="9", attribute="D", n=4)),
        (doubled.national_id, code(school, n=1)),
    ]
    assert rows[1][1] == "0980501" and rows[1][4:6] == (10, 4)
    assert all(value in (None, "") for value in rows[1][6:])  # grades blank
    assert result["rows"] == 4
    assert result["file_name"].startswith(f"{school.code}_{roster.term.school_year.roc_year}_1_41_")


def test_a_clean_term_passes_and_continuing_education_gets_42(
    school, make_member, django_capture_on_commit_callbacks
):
    roster = Roster(school, division=Division.CONTINUING, name="801")
    roster.enrol(roster.student(), roster.course(code(school)))
    member = make_member(school, Role.REGISTRY, division=Division.CONTINUING)
    job = run(school, roster.term, member, Division.CONTINUING, django_capture_on_commit_callbacks)
    assert job.result["passed"] and job.result["rows"] == 1 and job.result["roster"] == 42
    header = next(load_workbook(job.result_file.open("rb"))["學期成績"].values)
    job.result_file.close()
    assert "修課節數" in header


def test_the_registry_runs_it_from_its_page_and_reads_the_problems(
    school, registry, django_capture_on_commit_callbacks
):
    roster = Roster(school)
    roster.enrol(roster.student(birth=None), roster.course(code(school)))
    client = english(client_for(registry))
    page = client.get(reverse("rosters:index"))
    assert page.status_code == 200 and b"Not run yet" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("rosters:precheck_start", args=[roster.term.pk]))
    job = Job.objects.get(kind=PRECHECK_JOB)
    assert response["Location"] == reverse("rosters:precheck", args=[job.pk])
    html = client.get(response["Location"]).content.decode()
    assert "The date of birth is missing." in html and "出生日期" in html
    assert "1 problem" in client.get(reverse("rosters:index")).content.decode()
    download = client.get(reverse("rosters:precheck_file", args=[job.pk]))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert b"".join(download.streaming_content).startswith(b"PK")  # an xlsx is a zip


def test_a_colleague_of_the_division_sees_it_and_the_other_division_does_not(
    school, registry, make_member, django_capture_on_commit_callbacks
):
    roster = Roster(school)
    roster.enrol(roster.student(), roster.course(code(school)))
    job = run(
        school,
        roster.term,
        registry,
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )
    colleague = client_for(make_member(school, Role.REGISTRY))
    assert colleague.get(reverse("rosters:precheck", args=[job.pk])).status_code == 200
    other = client_for(make_member(school, Role.REGISTRY, division=Division.CONTINUING))
    assert other.get(reverse("rosters:precheck", args=[job.pk])).status_code == 404


def test_the_messages_follow_the_language_of_who_started_it(
    school, registry, django_capture_on_commit_callbacks
):
    roster = Roster(school)
    roster.enrol(roster.student(birth=None), roster.course(code(school)))
    with translation.override("zh-hant"), django_capture_on_commit_callbacks(execute=True):
        job = job_start(
            school=school,
            kind=PRECHECK_JOB,
            params={"term": roster.term.pk, "division": Division.DAY, "language": "zh-hant"},
            by=acting(registry),
        )
    job.refresh_from_db()
    assert "出生日期" in job.result["problems"][0]["field"]
    assert "birth" not in job.result["problems"][0]["message"]
