"""The course-code check (課程代碼比對): the official list, the run, its status and pages."""

import datetime as dt
import io

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from accounts.models import Role
from portfolio.models import AuditLog, Term
from records.models import Course, CourseCodeCheck, CourseCodeList
from records.services import courses as services
from tests.builders.people import client_for
from tests.builders.records import SCHOOL, code

TZ = timezone.get_fixed_timezone(8 * 60)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def english_client(membership):
    client = client_for(membership)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def term(school, current_roc_year) -> Term:
    return Term.objects.select_related("school_year", "school").get(
        school=school, school_year__roc_year=current_roc_year, number=1
    )


@pytest.fixture
def other_term(other_school, current_roc_year) -> Term:
    return Term.objects.get(school=other_school, school_year__roc_year=current_roc_year, number=1)


@pytest.fixture
def curriculum(school, make_member):
    return make_member(school, Role.CURRICULUM, username="alice-curriculum")


@pytest.fixture
def client(curriculum):
    return english_client(curriculum)


def add(term, value, *, name="國語文", section="", at=None) -> Course:
    """A course saved as an import would, whatever its code."""
    if at is None:
        return Course.objects.create(
            school=term.school,
            term=term,
            code=value,
            section=section,
            name=name,
            grade=10,
            credits=2,
        )
    with time_machine.travel(at, tick=False):
        return add(term, value, name=name, section=section)


def upload(term, text: str, *, encoding="utf-8", name="list.csv", by=None):
    return services.code_list_upload(
        school=term.school, term=term, file_name=name, content=text.encode(encoding), by=by
    )


class TestParseCodeList:
    def test_one_code_per_line(self):
        text = f"{code(seq='01')}\n\n  {code(seq='02').lower()}  \r\n"
        assert [c for _line, c in services.parse_code_list(text.encode())] == [
            code(seq="01"),
            code(seq="02").lower(),
        ]

    def test_csv_with_a_title_row_and_a_header_column(self):
        text = (
            "測試高中 114學年度 課程計畫\n"
            "序號,科目名稱,課程代碼(23碼),學分\n"
            f'1,國語文,"{code(seq="01")}",4\n'
            f"2,數學,'{code(seq='02')},4\n"
            "3,備註,,\n"
        )
        found = services.parse_code_list(text.encode("utf-8-sig"))
        assert found == [(3, code(seq="01")), (4, code(seq="02"))]

    def test_a_title_naming_the_codes_is_not_the_header(self):
        text = f"114學年度課程代碼一覽\n科目名稱,課程代碼\n國語文,{code()}\n"
        assert services.parse_code_list(text.encode()) == [(3, code())]

    def test_cp950(self):
        text = f"科目名稱,課程代碼\n國語文,{code()}\n"
        assert services.parse_code_list(text.encode("cp950")) == [(2, code())]

    def test_tab_separated(self):
        text = f"科目名稱\t課程代碼\n國語文\t{code()}\n"
        assert services.parse_code_list(text.encode("utf-8")) == [(2, code())]

    def test_unreadable_bytes(self):
        with pytest.raises(ValidationError) as exc:
            services.parse_code_list(b"\xff\xfe\x00\x81\xff")
        assert "file" in exc.value.message_dict


class TestCodeListUpload:
    def test_keeps_good_codes_of_the_school_and_reports_the_rest(self, term):
        text = "\n".join(
            [
                "課程代碼",
                code(seq="01"),
                code(seq="01"),  # twice: kept once
                code(seq="02"),
                code(school="654321"),
                "not a code",
            ]
        )
        result = upload(term, text, name="114_1_課程代碼.csv")
        assert result.code_list.codes == [code(seq="01"), code(seq="02")]
        assert result.code_list.file_name == "114_1_課程代碼.csv"
        assert [(r.line, r.problems) for r in result.rejected] == [(5, ["school"]), (6, ["length"])]
        entry = AuditLog.objects.get(action="course_code_list.upload")
        assert entry.changes["codes"] == 2 and entry.changes["rejected"] == 2

    def test_a_file_without_codes_of_the_school_is_refused(self, term):
        with pytest.raises(ValidationError) as exc:
            upload(term, f"{code(school='654321')}\n")
        assert "123456" in exc.value.message_dict["file"][0]
        assert not CourseCodeList.objects.exists()


class TestCheckRun:
    def test_findings(self, term):
        ok = add(term, code(seq="01"), name="國語文")
        add(term, "1141234", name="短碼")
        add(term, code(school="654321"), name="他校")
        add(term, code(category="Z"), name="類別錯")
        group = add(term, code(category="8", attribute="0"), name="團體活動時間")
        credited = add(term, code(category="9", attribute="D", seq="02"), name="充實增廣")
        unlisted = add(term, code(seq="09"), name="未在清單")
        upload(term, "\n".join([code(seq="01"), group.code, credited.code]))
        check = services.code_check_run(term=term, by=None)
        assert check.courses_checked == 7
        by_name = {f["name"]: f for f in check.findings}
        assert ok.name not in by_name and credited.name not in by_name
        assert by_name["短碼"]["problems"] == ["length"]
        assert by_name["他校"]["problems"] == ["school"]
        assert by_name["類別錯"]["problems"] == ["category"]
        assert by_name["未在清單"]["problems"] == ["not_listed"]
        assert by_name["未在清單"]["course_id"] == unlisted.pk
        assert "not in the official course-code list (list.csv)" in by_name["未在清單"]["fix"]
        assert by_name["團體活動時間"]["problems"] == ["no_grades"]
        assert by_name["團體活動時間"]["severity"] == "warning"
        assert "must be D" in by_name["團體活動時間"]["fix"]
        assert "this school's code is 123456" in by_name["他校"]["fix"]
        # Errors first, then the warning.
        assert [f["severity"] for f in check.findings][-1] == "warning"
        assert not check.passed
        assert check.code_list.file_name == "list.csv"
        entry = AuditLog.objects.get(action="course_code_check.run")
        assert entry.changes["errors"] == 4 and entry.changes["warnings"] == 1

    def test_warnings_alone_pass(self, term):
        add(term, code())
        add(term, code(category="9", attribute="A"), name="自主學習")
        check = services.code_check_run(term=term, by=None)
        assert [f["problems"] for f in check.findings] == [["no_grades"]]
        assert check.passed

    def test_without_a_list_codes_are_not_looked_up(self, term):
        add(term, code())
        check = services.code_check_run(term=term, by=None)
        assert check.findings == [] and check.code_list is None

    def test_the_latest_list_of_the_term_is_used(self, term):
        add(term, code(seq="02"))
        with time_machine.travel(dt.datetime(2025, 9, 1, 9, tzinfo=TZ)):
            upload(term, code(seq="01"), name="old.csv")
        with time_machine.travel(dt.datetime(2025, 9, 2, 9, tzinfo=TZ)):
            upload(term, code(seq="02"), name="new.csv")
        check = services.code_check_run(term=term, by=None)
        assert check.code_list.file_name == "new.csv" and check.findings == []

    def test_queries_do_not_grow_with_courses(self, term, other_term, django_assert_num_queries):
        def fill(target, n, school):
            Course.objects.bulk_create(
                Course(
                    school=target.school,
                    term=target,
                    code=code(school=school, seq=f"{i % 100:02d}"),
                    section=str(i),
                    name=f"科目{i}",
                    grade=10,
                    credits=2,
                )
                for i in range(n)
            )

        fill(term, 10, SCHOOL)
        fill(other_term, 2000, "654321")
        upload(term, code(seq="01"))
        upload(other_term, code(school="654321", seq="01"))
        with CaptureQueriesContext(connection) as small:
            services.code_check_run(term=term, by=None)
        with django_assert_num_queries(len(small.captured_queries)):
            big = services.code_check_run(term=other_term, by=None)
        assert big.courses_checked == 2000
        assert len(big.findings) == 1980  # all but the 20 courses with sequence 01


class TestStatus:
    """Rule: check within 4 weeks of the term's start, again after any change."""

    def at(self, term, days, hour=10):
        return dt.datetime.combine(term.starts_on + dt.timedelta(days=days), dt.time(hour), TZ)

    def test_not_run_then_overdue(self, term):
        add(term, code(), at=self.at(term, -10))
        with time_machine.travel(self.at(term, 20)):
            status = services.course_code_check_status(term)
        assert status["state"] == "not_run" and status["days_left"] == 8
        assert status["deadline"] == term.starts_on + dt.timedelta(days=28)
        with time_machine.travel(self.at(term, 29)):
            status = services.course_code_check_status(term)
        assert status["state"] == "overdue" and status["overdue"] and not status["ok"]

    def test_ok_then_outdated_after_a_change(self, term):
        course = add(term, code(), at=self.at(term, -10))
        with time_machine.travel(self.at(term, 3)):
            services.code_check_run(term=term, by=None)
        with time_machine.travel(self.at(term, 4)):
            status = services.course_code_check_status(term)
        assert status["state"] == "ok" and status["ok"] and status["passed"]
        assert status["within_four_weeks"] and status["after_latest_change"]
        with time_machine.travel(self.at(term, 40)):
            services.course_update(
                course=course,
                code=course.code,
                name="國語文(改)",
                grade=10,
                credits=2,
                by=None,
            )
            status = services.course_code_check_status(term)
        assert status["state"] == "outdated" and not status["after_latest_change"]
        assert status["checked_by_deadline"]
        with time_machine.travel(self.at(term, 41)):
            services.code_check_run(term=term, by=None)
            status = services.course_code_check_status(term)
        # The re-run after the change is late for the 4 weeks, but the rule was kept.
        assert status["state"] == "ok" and not status["within_four_weeks"]
        assert status["checked_by_deadline"]

    def test_a_removed_course_makes_the_check_outdated(self, term):
        add(term, code(seq="01"), at=self.at(term, -10))
        course = add(term, code(seq="02"), at=self.at(term, -10))
        with time_machine.travel(self.at(term, 3)):
            services.code_check_run(term=term, by=None)
        with time_machine.travel(self.at(term, 5)):
            services.course_delete(course=course, by=None)
            assert services.course_code_check_status(term)["state"] == "outdated"

    def test_failed_and_late(self, term):
        add(term, code(school="654321"), at=self.at(term, -10))
        with time_machine.travel(self.at(term, 35)):
            services.code_check_run(term=term, by=None)
            status = services.course_code_check_status(term)
        assert status["state"] == "failed" and status["errors"] == 1 and not status["passed"]
        Course.objects.update(code=code())
        with time_machine.travel(self.at(term, 36)):
            services.code_check_run(term=term, by=None)
            status = services.course_code_check_status(term)
        assert status["state"] == "late" and status["ok"] and not status["checked_by_deadline"]

    @pytest.mark.parametrize("days", [20, 29])
    def test_template_renders_every_state(self, term, days):
        add(term, code(), at=self.at(term, -10))
        with time_machine.travel(self.at(term, days)):
            html = render_to_string(
                "records/courses/_check_status.html",
                {"status": services.course_code_check_status(term)},
            )
        assert reverse("courses:check") in html
        assert ("days left" in html) if days == 20 else ("has not been run" in html)

    def test_template_after_a_run(self, term):
        add(term, code(category="8", attribute="0"), at=self.at(term, -10))
        with time_machine.travel(self.at(term, 3)):
            services.code_check_run(term=term, by=None)
            html = render_to_string(
                "records/courses/_check_status.html",
                {"status": services.course_code_check_status(term)},
            )
        assert "Passed" in html and "1 note about grades not sent" in html


class TestCheckPages:
    def test_upload_run_and_report(self, client, term):
        add(term, code(seq="01"), name="國語文")
        bad = add(term, code(seq="02"), name="數學")
        url = reverse("courses:check_upload", args=[term.pk])
        listing = f"課程代碼,科目名稱\n{code(seq='01')},國語文\nxyz,?\n".encode("cp950")
        response = client.post(url, {"file": SimpleUploadedFile("清單.csv", listing)})
        assert response.status_code == 302
        assert CourseCodeList.objects.get().codes == [code(seq="01")]
        page = client.get(response["Location"])
        html = page.content.decode()
        assert "清單.csv" in html and "Line 3 (xyz) left out" in html
        response = client.post(reverse("courses:check_run", args=[term.pk]))
        run = CourseCodeCheck.objects.get()
        assert response["Location"] == reverse("courses:check_detail", args=[run.pk])
        assert run.ran_by is not None
        detail = client.get(response["Location"]).content.decode()
        assert "not in the official course-code list (清單.csv)" in detail
        assert reverse("courses:edit", args=[bad.pk]) in detail
        page = client.get(reverse("courses:check"), {"term": term.pk})
        assert page.context["check"] == run
        assert reverse("courses:check_detail", args=[run.pk]) in page.content.decode()

    def test_upload_errors_are_tied_to_the_field(self, client, term):
        url = reverse("courses:check_upload", args=[term.pk])
        response = client.post(url, {"file": SimpleUploadedFile("list.pdf", b"%PDF")})
        assert response.status_code == 200 and 'id="id_file_error"' in response.content.decode()
        response = client.post(
            url, {"file": SimpleUploadedFile("list.txt", code(school="654321").encode())}
        )
        assert response.status_code == 200
        html = response.content.decode()
        assert 'id="id_file_error"' in html and "123456" in html
        assert not CourseCodeList.objects.exists()

    def test_filter_and_export_findings(self, client, term):
        add(term, code(school="654321"), name="他校")
        add(term, code(category="8", attribute="0"), name="團體活動時間")
        run = services.code_check_run(term=term, by=None)
        url = reverse("courses:check_detail", args=[run.pk])
        assert [r["name"] for r in client.get(url).context["rows"]] == ["他校", "團體活動時間"]
        warnings = client.get(url, {"severity": "warning"}).context["rows"]
        assert [r["name"] for r in warnings] == ["團體活動時間"]
        response = client.get(reverse("courses:check_export", args=[run.pk]))
        rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
        assert len(rows) == 3 and rows[1][0] == code(school="654321")
        assert "this school's code is 123456" in rows[1][5]

    def test_registry_reads_but_cannot_run(self, school, make_member, term):
        add(term, code())
        run = services.code_check_run(term=term, by=None)
        registry = english_client(make_member(school, Role.REGISTRY))
        page = registry.get(reverse("courses:check"), {"term": term.pk})
        assert page.status_code == 200
        assert reverse("courses:check_run", args=[term.pk]) not in page.content.decode()
        assert registry.get(reverse("courses:check_detail", args=[run.pk])).status_code == 200
        assert registry.post(reverse("courses:check_run", args=[term.pk])).status_code == 403
        assert CourseCodeCheck.objects.count() == 1

    def test_another_school_sees_nothing(self, client, other_term):
        add(other_term, code(school="654321"))
        run = services.code_check_run(term=other_term, by=None)
        assert client.get(reverse("courses:check_detail", args=[run.pk])).status_code == 404
        assert client.get(reverse("courses:check_export", args=[run.pk])).status_code == 404
        assert client.get(reverse("courses:check"), {"term": other_term.pk}).status_code == 404
        assert client.post(reverse("courses:check_run", args=[other_term.pk])).status_code == 404
        assert CourseCodeCheck.objects.count() == 1

    def test_check_page_queries_stay_flat(self, client, term, django_assert_max_num_queries):
        add(term, code(school="654321"), section="0")
        services.code_check_run(term=term, by=None)
        url = reverse("courses:check")
        with django_assert_max_num_queries(30) as first:
            client.get(url, {"term": term.pk})
        Course.objects.bulk_create(
            Course(
                school=term.school,
                term=term,
                code=code(school="654321"),
                section=str(i),
                name="x",
                grade=10,
                credits=1,
            )
            for i in range(1, 200)
        )
        services.code_check_run(term=term, by=None)
        with django_assert_max_num_queries(len(first.captured_queries)) as second:
            response = client.get(url, {"term": term.pk})
        assert len(second.captured_queries) == len(first.captured_queries)
        assert len(response.context["rows"]) == 50
        assert response.context["findings"].paginator.count == 200


def test_current_term(school, current_roc_year):
    term1, term2 = Term.objects.filter(school=school).order_by("number")
    assert Term.objects.current_for(school, today=term1.starts_on) == term1
    between = term1.ends_on + dt.timedelta(days=3)
    assert Term.objects.current_for(school, today=between) == term2  # being planned
    assert Term.objects.current_for(school, today=term2.ends_on + dt.timedelta(days=30)) == term2
    assert Term.objects.current_for(school, today=term1.starts_on - dt.timedelta(days=300)) == term1
