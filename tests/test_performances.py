"""Diverse performances: the ten categories' details, and the services (window, yearly cap
counting only the student's own items, files and rows together, the offices' items)."""

import datetime as dt
import time

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone, translation

from accounts.models import Role
from portfolio.models import AuditLog
from submissions import performance_categories as categories
from submissions.models import (
    ExtensionKind,
    Performance,
    PerformanceSource,
    PerformanceState,
    StoredFile,
    WindowExtension,
)
from submissions.services import performances as services
from tests.builders.concurrency import at_once
from tests.builders.files import HTML, make_mp3, stored_files
from tests.builders.people import acting
from tests.builders.performances import COMPETITION, World, pdf


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def world(school, make_member, storage_dir):
    return World(school, make_member)


def errors_of(exc: pytest.ExceptionInfo) -> dict[str, list[str]]:
    return exc.value.message_dict


# --- the categories --------------------------------------------------------------------------

# Roster 25's sheets and their columns after 身分證號/出生日期 (CENTRAL-FORMAT.md section 7).
ROSTER_25 = {
    "幹部經歷暨事蹟紀錄": ["單位名稱", "開始日期", "結束日期", "擔任職務", "內容簡述", "幹部等級"],
    "競賽參與紀錄": [
        "競賽名稱",
        "項目",
        "競賽等級代碼",
        "獎項",
        "結果公布日期",
        "內容簡述",
        "團體參與代碼",
    ],
    "檢定證照紀錄": [
        "證照代碼",
        "註1",
        "分數",
        "分項結果",
        "取得證照日期",
        "證照字號",
        "檢定組別",
        "內容簡述",
    ],
    "服務學習紀錄": ["服務名稱", "服務單位", "開始日期", "結束日期", "時數", "內容簡述"],
    "彈性學習時間紀錄": [
        "彈性學習時間類別種類代碼",
        "內容開設名稱",
        "開設單位",
        "開設學年度",
        "開設學期",
        "每週節數",
        "開設週數",
        "內容簡述",
    ],
    "團體活動時間紀錄": [
        "團體活動時間類別代碼",
        "辦理單位",
        "團體活動內容名稱",
        "活動學年度",
        "活動學期",
        "節數",
        "內容簡述",
    ],
    "職場學習紀錄": [
        "職場學習類別代碼",
        "職場學習單位",
        "職場學習職稱",
        "開始日期",
        "結束日期",
        "時數",
        "內容簡述",
    ],
    "作品成果紀錄": ["名稱", "日期", "內容簡述"],
    "大學及技專校院先修課程紀錄": [
        "計畫專案",
        "開設單位",
        "課程名稱",
        "開始日期",
        "結束日期",
        "學分數",
        "總時數",
        "內容簡述",
    ],
    "其他多元表現紀錄": ["名稱", "主辦單位", "開始日期", "結束日期", "時數", "內容簡述"],
}


def test_categories_follow_roster_25_sheets_and_columns():
    assert [c.sheet for c in categories.CATEGORY_LIST] == list(ROSTER_25)
    assert [c.code for c in categories.CATEGORY_LIST] == [
        "cadre",
        "competition",
        "certificate",
        "service",
        "flexible",
        "group_activity",
        "workplace",
        "work",
        "preparatory",
        "other",
    ]
    for category in categories.CATEGORY_LIST:
        columns = {field.column for field in category.fields} | {"內容簡述"}
        if category.name_column != "證照名稱":  # the certificate's name is ours, for people
            columns.add(category.name_column)
        if category.dates == categories.RANGE:
            columns |= {"開始日期", "結束日期"}
        elif category.dates == categories.SINGLE:
            columns.add(category.date_column)
        assert columns == set(ROSTER_25[category.sheet]), category.code


def test_find_a_category_as_files_write_it():
    assert categories.find("1").code == "cadre"
    assert categories.find("10.0").code == "other"
    assert categories.find("競賽參與").code == "competition"
    assert categories.find("檢定證照紀錄").code == "certificate"
    assert categories.find("workplace").code == "workplace"
    assert categories.find("11") is None
    assert categories.find("社團") is None


@pytest.mark.parametrize(
    ("code", "details", "problems"),
    [
        ("cadre", {}, {"organiser", "cadre_level"}),
        ("cadre", {"organiser": "學生會", "cadre_level": "6"}, {"cadre_level"}),
        ("cadre", {"organiser": "學生會", "cadre_level": "1"}, set()),
        ("competition", {"award": "第一名"}, {"competition_level", "participation"}),
        ("competition", {**COMPETITION, "competition_level": "5"}, {"competition_level"}),
        ("certificate", {"certificate_code": "12A", "certificate_kind": "1"}, {"certificate_code"}),
        (
            "certificate",
            {"certificate_code": "1234", "certificate_kind": "1", "score": "1.234"},
            {"score"},
        ),
        (
            "certificate",
            {"certificate_code": "1234", "certificate_kind": "2", "score": "85.5"},
            set(),
        ),
        ("service", {"organiser": "醫院", "hours": "-1"}, {"hours"}),
        ("service", {"organiser": "醫院", "hours": "2.5"}, set()),
        ("flexible", {"kind": "1", "year": "99", "term": "3"}, {"year", "term"}),
        ("flexible", {"kind": "1", "year": "114", "term": "1", "weeks": "x"}, {"weeks"}),
        ("group_activity", {"kind": "9", "year": 114, "term": "2"}, {"kind"}),
        ("workplace", {"kind": "3"}, {"organiser"}),
        ("work", {"anything": "ignored"}, set()),
        ("preparatory", {"organiser": "臺大", "credits": "2"}, set()),
        ("other", {}, set()),
    ],
)
def test_details_are_checked_against_the_category(code, details, problems):
    assert set(categories.validate_details(code, details)) == problems


def test_clean_details_keeps_json_ready_values_and_drops_unknown_keys():
    cleaned, problems = categories.clean_details(
        "flexible",
        {"kind": "1.0", "year": "114", "term": 2, "weeks": "18", "extra": "x", "organiser": " "},
    )
    assert problems == {}
    assert cleaned == {"kind": "1", "year": 114, "term": "2", "weeks": 18}


def test_values_of_each_type_are_read_as_they_are_kept():
    date = categories.DetailField("on", "On", "日期", categories.DATE)
    assert categories.parse_value(date, dt.date(2025, 9, 1)) == "2025-09-01"
    assert categories.parse_value(date, "2025-09-01") == "2025-09-01"
    with pytest.raises(categories.DetailError) as exc:
        categories.parse_value(date, "1140901")
    assert exc.value.code == "date"
    whole = categories.DetailField("n", "N", "節數", categories.INT, min_value=0, max_value=9)
    assert categories.parse_value(whole, "3.0") == 3
    with pytest.raises(categories.DetailError) as exc:
        categories.parse_value(whole, "10")
    assert (exc.value.code, exc.value.params) == ("out_of_range", {"min": 0, "max": 9})
    assert categories.parse_value(whole, "  ") is None


def test_messages_say_what_is_allowed():
    problems = categories.validate_details("competition", {**COMPETITION, "participation": "3"})
    assert problems["participation"] == ["Choose one of: 1 Individual, 2 Team."]


def test_details_from_form_and_shown_details():
    from decimal import Decimal

    details = categories.details_from_form(
        "service", {"organiser": "醫院", "hours": Decimal("2.50"), "name": "not a detail"}
    )
    assert details == {"organiser": "醫院", "hours": "2.50"}
    assert categories.shown_details("cadre", {"organiser": "101", "cadre_level": "2"}) == [
        ("Organiser", "101"),
        ("Cadre level", "2 Class"),
    ]


# --- adding: window, cap, checks, files -------------------------------------------------------


def test_add_in_the_window_stores_file_and_row(world, storage_dir):
    item = world.add(media=SimpleUploadedFile("talk.mp3", make_mp3()))
    assert item.source == PerformanceSource.STUDENT
    assert item.state == PerformanceState.SAVED
    assert item.school_year == world.year
    assert item.entered_by == world.member.user
    assert item.details == COMPETITION
    assert item.ends_on is None
    assert item.document.student == world.student
    assert default_storage.exists(item.document.storage_path)
    assert len(stored_files(storage_dir)) == 2
    log = AuditLog.objects.get(action="performance.add")
    assert log.target_id == str(item.pk)
    assert log.changes["files"]["document"]["name"] == "award.pdf"


def test_save_as_draft_keeps_it_back_but_uses_a_place(world):
    item = world.add(save_as_draft=True)
    assert item.state == PerformanceState.DRAFT
    assert Performance.objects.counting_toward_cap(world.student, world.year.pk).count() == 1


def test_window_not_yet_open_names_the_next_window(world, storage_dir):
    world.window.starts_at = timezone.now() + dt.timedelta(days=3)
    world.window.save()
    with pytest.raises(ValidationError) as exc:
        world.add()
    message = errors_of(exc)[NON_FIELD_ERRORS][0]
    opens = timezone.localtime(world.window.starts_at).strftime("%Y-%m-%d %H:%M")
    closes = timezone.localtime(world.window.ends_at).strftime("%Y-%m-%d %H:%M")
    assert "performance-upload window" in message
    assert opens in message and closes in message
    assert Performance.objects.count() == 0
    assert stored_files(storage_dir) == []


def test_window_closed_with_none_scheduled(world):
    with pytest.raises(ValidationError) as exc:
        world.add(now=world.closes + dt.timedelta(minutes=1))
    assert "none is open or scheduled" in errors_of(exc)[NON_FIELD_ERRORS][0]


def test_an_extension_opens_the_window_for_one_student(world, make_member):
    world.window.delete()
    now = timezone.now()
    WindowExtension.objects.create(
        school=world.school,
        student=world.student,
        term=world.term2,
        kind=ExtensionKind.PERFORMANCE_UPLOAD,
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(days=2),
        reason="住院治療",
        granted_by=make_member(world.school, Role.REGISTRY).user,
    )
    assert world.add().pk
    other = World(world.school, make_member, number="S2", seat=6)
    other.window.delete()
    with pytest.raises(ValidationError):
        other.add()


def test_cap_counts_only_the_students_own_items(world, make_member):
    for _ in range(9):
        world.row()
    for _ in range(5):
        world.row(source=PerformanceSource.SCHOOL)
    world.row(source=PerformanceSource.OUTSIDE)
    world.row(state=PerformanceState.WITHDRAWN)
    other = World(world.school, make_member, number="S2", seat=6)
    other.row()
    assert world.add().pk  # the tenth of ten
    with pytest.raises(ValidationError) as exc:
        world.add()
    assert "10 of 10 used" in errors_of(exc)[NON_FIELD_ERRORS][0]
    assert services.performance_status(world.student).used == 10


def test_withdraw_frees_a_place(world):
    for _ in range(9):
        world.row()
    last = world.add()
    with pytest.raises(ValidationError):
        world.add()
    withdrawn = services.performance_withdraw(performance=last, by=world.by)
    assert withdrawn.state == PerformanceState.WITHDRAWN
    assert AuditLog.objects.filter(action="performance.withdraw", target_id=str(last.pk)).exists()
    assert world.add().pk


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(document.cookie)",
        " javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "ftp://example.com/video.mp4",
        "file:///etc/passwd",
        "https://",
        "www.youtube.com/watch?v=abc",
    ],
)
def test_unsafe_or_incomplete_video_links_are_refused(world, url):
    with pytest.raises(ValidationError) as exc:
        world.add(video_url=url, document=None)
    assert list(errors_of(exc)) == ["video_url"]


def test_javascript_link_message_says_what_is_accepted(world):
    with pytest.raises(ValidationError) as exc:
        world.add(video_url="javascript:alert(1)", document=None)
    message = errors_of(exc)["video_url"][0]
    assert "https://" in message and "“javascript:”" in message


def test_https_video_link_is_kept(world):
    url = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    assert world.add(video_url=url, document=None).video_url == url


def test_html_renamed_pdf_is_refused_and_nothing_stored(world, storage_dir):
    fake = SimpleUploadedFile("award.pdf", HTML, content_type="application/pdf")
    with pytest.raises(ValidationError) as exc:
        world.add(document=fake, media=SimpleUploadedFile("a.mp3", make_mp3()))
    errors = errors_of(exc)
    assert "an HTML page" in errors["document"][0]
    assert "media" not in errors
    assert stored_files(storage_dir) == []
    assert StoredFile.objects.count() == 0
    assert Performance.objects.count() == 0


def test_text_and_date_rules(world):
    world.policy.short_description_max = 10
    world.policy.save()
    with pytest.raises(ValidationError) as exc:
        world.add(
            name=" ",
            description="x" * 11,
            starts_on=world.today + dt.timedelta(days=1),
            details={"award": "佳作"},
        )
    errors = errors_of(exc)
    assert errors["name"] == ["Fill this in: Competition."]
    assert "at most 10 characters" in errors["description"][0]
    assert "cannot be in the future" in errors["starts_on"][0]
    assert set(errors) >= {"competition_level", "participation"}
    with pytest.raises(ValidationError) as exc:
        world.add(description="   ")
    assert "description" in errors_of(exc)


def test_a_period_ends_on_or_after_it_starts(world):
    args = {
        "category": "cadre",
        "name": "班長",
        "details": {"organiser": "101", "cadre_level": "2"},
    }
    with pytest.raises(ValidationError) as exc:
        world.add(starts_on=world.today, ends_on=world.today - dt.timedelta(days=1), **args)
    assert list(errors_of(exc)) == ["ends_on"]
    item = world.add(starts_on=world.today, ends_on=world.today + dt.timedelta(days=90), **args)
    assert item.ends_on > item.starts_on  # a post held until the end of the year


def test_a_category_without_dates_keeps_none(world):
    item = world.add(
        category="flexible",
        name="自主學習：程式設計",
        starts_on=world.today,
        details={"kind": "1", "year": "114", "term": "1"},
    )
    assert item.starts_on is None and item.ends_on is None


def test_failure_writing_rows_leaves_no_file(world, storage_dir, monkeypatch):
    def broken_audit(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "audit_write", broken_audit)
    with pytest.raises(RuntimeError):
        world.add(media=SimpleUploadedFile("a.mp3", make_mp3()))
    assert stored_files(storage_dir) == []
    assert StoredFile.objects.count() == 0
    assert Performance.objects.count() == 0


# --- changing -----------------------------------------------------------------------------


def _edit(world, item, **overrides):
    args = {
        "performance": item,
        "name": item.name,
        "description": item.description,
        "starts_on": item.starts_on,
        "ends_on": item.ends_on,
        "details": item.details,
        "video_url": item.video_url,
        "by": world.by,
    }
    args.update(overrides)
    return services.performance_edit(**args)


def test_edit_replaces_a_file_after_commit_and_sends_a_draft(
    world, storage_dir, django_capture_on_commit_callbacks
):
    item = world.add(save_as_draft=True, media=SimpleUploadedFile("a.mp3", make_mp3()))
    old_document, old_media = item.document, item.media
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        item = _edit(
            world,
            item,
            description="物理科，第一名。",
            details={**COMPETITION, "award": "第一名"},
            document=pdf("new.pdf"),
            remove_media=True,
            send=True,
        )
    assert len(stored_files(storage_dir)) == 3  # the old ones go only after commit
    for callback in callbacks:
        callback()
    assert item.state == PerformanceState.SAVED
    assert item.details["award"] == "第一名"
    assert item.document.display_name == "new.pdf"
    assert item.media is None
    assert not StoredFile.objects.filter(pk__in=[old_document.pk, old_media.pk]).exists()
    assert [p.name for p in stored_files(storage_dir)] == [item.document.storage_key]
    log = AuditLog.objects.get(action="performance.edit")
    assert log.changes["state"] == ["draft", "saved"]
    assert log.changes["details"][1]["award"] == "第一名"


def test_edit_refused_outside_the_window_or_when_withdrawn(world):
    item = world.add()
    with pytest.raises(ValidationError):
        _edit(world, item, name="改", now=world.closes + dt.timedelta(hours=1))
    services.performance_withdraw(performance=item, by=world.by)
    item.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        _edit(world, item, name="改")
    assert "withdrawn" in errors_of(exc)[NON_FIELD_ERRORS][0]
    with pytest.raises(ValidationError):
        services.performance_withdraw(performance=item, by=world.by)


def test_a_student_cannot_change_or_withdraw_what_the_school_entered(world):
    item = world.enter()
    with pytest.raises(ValidationError) as exc:
        _edit(world, item, name="改")
    assert "only the office" in errors_of(exc)[NON_FIELD_ERRORS][0]
    with pytest.raises(ValidationError):
        services.performance_withdraw(performance=item, by=world.by)
    assert services.student_may_change(item)
    item.refresh_from_db()
    assert item.name == "校慶志工" and item.state == PerformanceState.SAVED


# --- the offices --------------------------------------------------------------------------


def test_an_office_enters_without_window_or_cap(world):
    for _ in range(10):
        world.row()
    world.window.delete()
    item = world.enter(source=PerformanceSource.OUTSIDE, document=pdf())
    assert item.source == PerformanceSource.OUTSIDE
    assert item.state == PerformanceState.SAVED
    assert item.entered_by == world.office.user
    assert item.details == {"organiser": "學務處", "hours": "4"}
    assert AuditLog.objects.get(action="performance.enter").actor == world.office.user
    assert not item.counts_toward_cap


def test_only_offices_of_the_school_enter(world, make_member, other_school):
    teacher = acting(make_member(world.school, Role.TEACHER))
    with pytest.raises(PermissionDenied):
        world.enter(by=teacher)
    stranger = acting(make_member(other_school, Role.STUDENT_AFFAIRS))
    with pytest.raises(PermissionDenied):
        world.enter(by=stranger)
    for role in (Role.REGISTRY, Role.COUNSELLOR, Role.CURRICULUM):
        assert world.enter(by=acting(make_member(world.school, role))).pk


def test_an_office_item_needs_a_valid_source_and_the_same_rules(world):
    with pytest.raises(ValidationError) as exc:
        world.enter(
            source=PerformanceSource.STUDENT,
            description="",
            details={"hours": "x"},
            video_url="javascript:alert(1)",
        )
    assert set(errors_of(exc)) == {"source", "description", "organiser", "hours", "video_url"}


def test_staff_edit_and_delete_only_school_items(
    world, storage_dir, django_capture_on_commit_callbacks
):
    own = world.add()
    with pytest.raises(ValidationError):
        services.performance_staff_edit(performance=own, name="x", description="y", by=world.office)
    with pytest.raises(ValidationError):
        services.performance_staff_delete(performance=own, by=world.office)
    item = world.enter(document=pdf())
    item = services.performance_staff_edit(
        performance=item,
        name="校慶志工（全日）",
        description=item.description,
        starts_on=item.starts_on,
        ends_on=item.ends_on,
        details={"organiser": "學務處", "hours": "8"},
        source=PerformanceSource.OUTSIDE,
        by=world.office,
    )
    assert item.details["hours"] == "8" and item.source == PerformanceSource.OUTSIDE
    assert AuditLog.objects.get(action="performance.staff_edit").changes["source"] == [
        "school",
        "outside",
    ]
    document_key = item.document.storage_key
    with django_capture_on_commit_callbacks(execute=True):
        services.performance_staff_delete(performance=item, by=world.office)
    assert not Performance.objects.filter(pk=item.pk).exists()
    assert document_key not in [p.name for p in stored_files(storage_dir)]
    assert AuditLog.objects.filter(action="performance.staff_delete").exists()


# --- two uploads at once ---------------------------------------------------------------------


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite serializes writes; see the next test"
)
@pytest.mark.django_db(transaction=True)
def test_two_parallel_adds_at_cap_minus_one_accept_exactly_one(
    school, make_member, storage_dir, monkeypatch
):
    world = World(school, make_member)
    for _ in range(9):
        world.row()
    real_row = services.stored_file_row

    def slow_row(*args, **kwargs):  # widen the gap between counting and creating
        time.sleep(0.3)
        return real_row(*args, **kwargs)

    monkeypatch.setattr(services, "stored_file_row", slow_row)
    results = at_once(world.add, world.add)
    accepted = [r for r in results if isinstance(r, Performance)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(accepted) == 1 and len(refused) == 1, results
    assert "10 of 10 used" in refused[0].message_dict[NON_FIELD_ERRORS][0]
    assert Performance.objects.count() == 10
    assert StoredFile.objects.count() == 1
    assert len(stored_files(storage_dir)) == 1


def test_two_adds_at_cap_minus_one_one_after_the_other(world, storage_dir):
    for _ in range(9):
        world.row()
    results = []
    for _ in range(2):
        try:
            results.append(world.add())
        except ValidationError as exc:
            results.append(exc)
    assert isinstance(results[0], Performance)
    assert isinstance(results[1], ValidationError)
    assert len(stored_files(storage_dir)) == 1


def test_the_service_refuses_another_offices_item(world, make_member):
    item = world.enter()
    registry = acting(make_member(world.school, Role.REGISTRY))
    with pytest.raises(PermissionDenied):
        services.performance_staff_delete(performance=item, by=registry)
    with pytest.raises(PermissionDenied):
        services.performance_staff_edit(
            performance=item, name="x", description="y", details=item.details, by=registry
        )
    assert Performance.objects.get(pk=item.pk).name == "校慶志工"
