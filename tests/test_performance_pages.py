"""The diverse-performance pages: the student's (add, change, withdraw) and the offices'
(list, enter, change, remove)."""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from accounts.models import Role
from records.models import SchoolClass, Student
from submissions.models import Performance, PerformanceSource, PerformanceState, StoredFile
from tests.builders.files import HTML, make_pdf, stored_files
from tests.builders.people import client_for
from tests.builders.performances import World, pdf

ADD = reverse("performances:add")
PORTFOLIO = reverse("outcomes:portfolio")
STAFF_LIST = reverse("performances:staff_list")
STAFF_ADD = reverse("performances:staff_add")


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def world(school, make_member, storage_dir):
    return World(school, make_member)


@pytest.fixture
def student_client(world):
    client = client_for(world.member)
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def office(world, make_member):
    client = client_for(make_member(world.school, Role.STUDENT_AFFAIRS))
    client.cookies["django_language"] = "en"
    return client


def day(days_ago: int) -> str:
    return (timezone.localdate() - dt.timedelta(days=days_ago)).isoformat()


# --- the student: adding ------------------------------------------------------------------


def test_add_starts_with_the_category_and_shows_the_counter(world, student_client):
    world.row()
    world.row(source=PerformanceSource.SCHOOL)
    page = student_client.get(ADD).content.decode()
    assert 'name="category"' in page and "Continue" in page
    assert "1 of 10 used this year" in page
    assert "(items entered by the school do not count)" in page
    assert 'name="name"' not in page
    page = student_client.get(ADD, {"category": "competition"}).content.decode()
    assert "Competition" in page and "Result announced on" in page
    assert 'name="competition_level"' in page and 'name="organiser"' not in page
    assert 'data-counter-max="100"' in page


@pytest.mark.parametrize(
    ("category", "fields", "details"),
    [
        (
            "cadre",
            {
                "name": "班長",
                "starts_on": day(60),
                "ends_on": "",
                "organiser": "101",
                "cadre_level": "2",
            },
            {"organiser": "101", "cadre_level": "2"},
        ),
        (
            "competition",
            {
                "name": "全國科學展覽會",
                "starts_on": day(3),
                "item": "物理科",
                "competition_level": "3",
                "award": "佳作",
                "participation": "2",
            },
            {"item": "物理科", "competition_level": "3", "award": "佳作", "participation": "2"},
        ),
        (
            "certificate",
            {
                "name": "全民英檢中級",
                "starts_on": day(20),
                "certificate_code": "1001",
                "certificate_kind": "1",
                "score": "85.5",
            },
            {"certificate_code": "1001", "certificate_kind": "1", "score": "85.5"},
        ),
        (
            "group_activity",
            {"name": "班會", "kind": "1", "year": "114", "term": "1", "periods": "18"},
            {"kind": "1", "year": 114, "term": "1", "periods": 18},
        ),
    ],
)
def test_add_through_the_page(world, student_client, category, fields, details):
    data = {**fields, "description": "我做了什麼。", "document": pdf()}
    response = student_client.post(f"{ADD}?category={category}", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    item = Performance.objects.get()
    assert response["Location"] == f"{PORTFOLIO}#performance-{item.pk}"
    assert item.category == category
    assert item.details == details
    assert item.source == PerformanceSource.STUDENT
    assert item.state == PerformanceState.SAVED
    assert item.document.display_name == "award.pdf"


def test_save_as_draft_through_the_page(world, student_client):
    data = {"name": "作品集", "starts_on": day(1), "description": "網站。", "draft": "1"}
    assert student_client.post(f"{ADD}?category=work", data).status_code == 302
    assert Performance.objects.get().state == PerformanceState.DRAFT


def test_the_upload_script_gets_json_with_where_to_go(world, student_client):
    page = student_client.get(ADD, {"category": "work"}).content.decode()
    assert "data-upload" in page and "data-progress" in page
    assert 'data-counter-left="{n} characters left"' in page
    data = {"name": "作品集", "starts_on": day(1), "description": "網站。", "document": pdf()}
    response = student_client.post(
        f"{ADD}?category=work", data, headers={"X-Requested-With": "XMLHttpRequest"}
    )
    item = Performance.objects.get()
    assert response.json() == {"redirect": f"{PORTFOLIO}#performance-{item.pk}"}


def test_errors_next_to_fields_and_typed_values_kept(world, student_client):
    data = {
        "name": "全國科學展覽會",
        "starts_on": day(3),
        "description": "",
        "competition_level": "",
        "award": "佳作",
        "participation": "1",
        "video_url": "javascript:alert(1)",
    }
    response = student_client.post(f"{ADD}?category=competition", data)
    page = response.content.decode()
    assert response.status_code == 200
    assert Performance.objects.count() == 0
    assert 'value="全國科學展覽會"' in page and 'value="佳作"' in page
    assert 'id="id_description_error"' in page
    assert "Write a short description" in page
    assert 'id="id_competition_level_error"' in page
    assert 'aria-describedby="id_video_url_helptext id_video_url_error"' in page
    assert "https://" in page
    assert "choose your file(s) again" in page
    # A code that is not on the list (only a changed page sends one) is refused too.
    data.update(description="物理科。", competition_level="9", video_url="")
    page = student_client.post(f"{ADD}?category=competition", data).content.decode()
    assert 'id="id_competition_level_error"' in page
    assert Performance.objects.count() == 0


def test_a_bad_file_is_refused_next_to_its_field(world, student_client, storage_dir):
    data = {
        "name": "作品",
        "starts_on": day(1),
        "description": "網站。",
        "document": SimpleUploadedFile("award.pdf", HTML, content_type="application/pdf"),
    }
    page = student_client.post(f"{ADD}?category=work", data).content.decode()
    assert 'id="id_document_error"' in page and "an HTML page" in page
    assert stored_files(storage_dir) == []


def test_a_file_too_large_is_stopped_while_it_arrives(world, student_client, storage_dir):
    world.policy.document_max_mb = 1
    world.policy.media_max_mb = 1
    world.policy.save()
    big = SimpleUploadedFile("big.pdf", make_pdf() + b"0" * (1024 * 1024 + 10))
    data = {"name": "作品", "starts_on": day(1), "description": "網站。", "document": big}
    page = student_client.post(f"{ADD}?category=work", data).content.decode()
    assert "larger than 1 MB" in page
    assert Performance.objects.count() == 0
    assert stored_files(storage_dir) == []


def test_outside_the_window_no_form_and_the_next_dates(world, student_client):
    world.window.starts_at = timezone.now() + dt.timedelta(days=5)
    world.window.save()
    page = student_client.get(ADD, {"category": "work"}).content.decode()
    assert 'name="name"' not in page and 'name="category"' not in page
    assert timezone.localtime(world.window.starts_at).strftime("%Y-%m-%d %H:%M") in page
    data = {"name": "作品", "starts_on": day(1), "description": "網站。"}
    student_client.post(f"{ADD}?category=work", data)
    assert Performance.objects.count() == 0


def test_at_the_cap_no_form(world, student_client):
    for _ in range(10):
        world.row()
    page = student_client.get(ADD, {"category": "work"}).content.decode()
    assert "10 of 10 used this year" in page
    assert "You have used all 10 places" in page
    assert 'name="name"' not in page


def test_a_student_without_a_record_is_told_so(school, make_member):
    client = client_for(make_member(school, Role.STUDENT))
    client.cookies["django_language"] = "en"
    page = client.get(ADD).content.decode()
    assert "not linked to your account yet" in page


# --- the student: changing and withdrawing ---------------------------------------------------


def test_edit_an_own_item(world, student_client):
    item = world.add()
    url = reverse("performances:edit", args=[item.pk])
    page = student_client.get(url).content.decode()
    assert 'value="全國科學展覽會"' in page and "Remove award.pdf" in page
    data = {
        "name": "全國科學展覽會",
        "starts_on": item.starts_on.isoformat(),
        "description": "物理科，得到佳作。",
        "competition_level": "4",
        "award": "佳作",
        "participation": "1",
        "remove_document": "on",
    }
    response = student_client.post(url, data)
    assert response.status_code == 302
    assert response["Location"] == f"{PORTFOLIO}#performance-{item.pk}"
    item.refresh_from_db()
    assert item.details["competition_level"] == "4"
    assert item.description == "物理科，得到佳作。"
    assert item.document is None


def test_school_items_are_read_only_for_the_student(world, student_client):
    item = world.enter()
    url = reverse("performances:edit", args=[item.pk])
    page = student_client.get(url).content.decode()
    assert "only the office that entered it can change it" in page
    assert "校慶志工" in page and 'name="name"' not in page
    student_client.post(url, {"name": "改", "description": "改", "starts_on": day(3)})
    item.refresh_from_db()
    assert item.name == "校慶志工"
    withdraw = reverse("performances:withdraw", args=[item.pk])
    student_client.post(withdraw)
    item.refresh_from_db()
    assert item.state == PerformanceState.SAVED


def test_withdraw_asks_then_frees_the_place(world, student_client):
    item = world.add()
    url = reverse("performances:withdraw", args=[item.pk])
    assert "cannot be undone" in student_client.get(url).content.decode()
    response = student_client.post(url)
    assert response.status_code == 302
    assert response["Location"] == f"{PORTFOLIO}#performance-{item.pk}"
    item.refresh_from_db()
    assert item.state == PerformanceState.WITHDRAWN
    page = student_client.get(reverse("performances:edit", args=[item.pk])).content.decode()
    assert "can no longer be changed" in page


def test_another_students_item_is_404(world, make_member, student_client, other_school):
    other = World(world.school, make_member, number="S2", seat=6)
    theirs = other.add()
    stranger = World(other_school, make_member, number="X1")
    far = stranger.add()
    for item in (theirs, far):
        for name in ("performances:edit", "performances:withdraw"):
            url = reverse(name, args=[item.pk])
            assert student_client.get(url).status_code == 404
            assert student_client.post(url).status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == PerformanceState.SAVED


@pytest.mark.parametrize("role", [Role.TEACHER, Role.STUDENT_AFFAIRS, Role.HOMEROOM])
def test_staff_cannot_use_the_student_pages(world, as_role, role):
    item = world.add()
    client = as_role(role)
    assert client.get(ADD).status_code == 403
    assert client.get(reverse("performances:edit", args=[item.pk])).status_code == 403
    assert client.post(reverse("performances:withdraw", args=[item.pk])).status_code == 403


# --- the offices --------------------------------------------------------------------------


def test_an_office_enters_an_item_by_class_and_seat(world, office):
    page = office.get(STAFF_ADD, {"category": "service"}).content.decode()
    assert 'name="student"' in page and 'name="source"' in page and 'name="hours"' in page
    data = {
        "student": "101-05",
        "school_year": world.year.pk,
        "source": "school",
        "name": "校慶志工",
        "starts_on": day(30),
        "ends_on": day(29),
        "description": "協助校慶接待。",
        "organiser": "學務處",
        "hours": "4",
        "document": pdf(),
    }
    response = office.post(f"{STAFF_ADD}?category=service", data)
    assert response.status_code == 302 and response["Location"] == STAFF_LIST
    item = Performance.objects.get()
    assert item.student == world.student
    assert item.source == PerformanceSource.SCHOOL
    assert item.details == {"organiser": "學務處", "hours": "4"}
    assert item.entered_by is not None


def test_an_office_sees_errors_and_keeps_typed_values(world, office):
    data = {
        "student": "S404",
        "school_year": world.year.pk,
        "source": "school",
        "name": "校慶志工",
        "description": "協助。",
        "starts_on": day(3),
        "hours": "x",
        "another": "1",
    }
    page = office.post(f"{STAFF_ADD}?category=service", data).content.decode()
    assert 'id="id_student_error"' in page and 'id="id_hours_error"' in page
    assert 'id="id_organiser_error"' in page
    assert 'value="校慶志工"' in page
    assert Performance.objects.count() == 0


def test_save_and_add_another_keeps_the_category(world, office):
    data = {
        "student": "S1",
        "school_year": world.year.pk,
        "source": "outside",
        "name": "市長獎",
        "starts_on": day(3),
        "description": "獲頒市長獎。",
        "another": "1",
    }
    response = office.post(f"{STAFF_ADD}?category=other", data)
    assert response["Location"] == f"{STAFF_ADD}?category=other"
    assert Performance.objects.get().source == PerformanceSource.OUTSIDE


def _many(world, count: int) -> None:
    for i in range(count):
        other = Student.objects.create(
            school=world.school,
            student_number=f"M{i:03d}",
            name=f"生{i}",
            school_class=world.klass,
            seat_number=i % 99 + 1,
        )
        world.enter(student=other, name=f"志工{i}", document=None)


def test_the_list_stays_flat_and_filters(world, office, django_assert_max_num_queries):
    _many(world, 3)
    world.add()  # the student's own: not listed here
    with django_assert_max_num_queries(12) as few:
        page = office.get(STAFF_LIST).content.decode()
    assert "志工0" in page and "全國科學展覽會" not in page
    for i in range(3, 30):
        other = Student.objects.create(
            school=world.school, student_number=f"N{i:03d}", name=f"乙{i}", school_class=world.klass
        )
        world.enter(student=other, name=f"服務{i}", category="other", details={})
    with django_assert_max_num_queries(len(few.captured_queries)):
        office.get(STAFF_LIST)
    filtered = office.get(STAFF_LIST, {"category": "service"}).content.decode()
    assert "志工0" in filtered and "服務3" not in filtered
    other_class = SchoolClass.objects.create(
        school=world.school, school_year=world.year, name="102", grade=10
    )
    assert "志工0" not in office.get(STAFF_LIST, {"school_class": other_class.pk}).content.decode()


def test_only_offices_that_import_are_offered_the_import(world, office, as_role):
    page = office.get(STAFF_LIST).content.decode()
    assert reverse("imports:template", args=["performances"]) in page
    counsellor = as_role(Role.COUNSELLOR).get(STAFF_LIST).content.decode()
    assert reverse("imports:index") not in counsellor


def test_export_xlsx(world, office):
    world.enter(details={"organiser": "學務處", "hours": "4.5"})
    response = office.get(STAFF_LIST, {"export": "xlsx"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0][:8] == (
        "Student number",
        "Name",
        "Class",
        "Seat",
        "School year",
        "Category no.",
        "Category",
        "Title",
    )
    assert rows[1][0] == "S1" and rows[1][5] == 4 and rows[1][7] == "校慶志工"
    assert "Hours: 4.5" in rows[1][10]


def test_edit_and_delete_a_school_item(
    world, office, storage_dir, django_capture_on_commit_callbacks
):
    item = world.enter(document=pdf())
    url = reverse("performances:staff_edit", args=[item.pk])
    page = office.get(url).content.decode()
    assert 'value="校慶志工"' in page and "Remove award.pdf" in page
    data = {
        "source": "school",
        "name": "校慶志工",
        "starts_on": item.starts_on.isoformat(),
        "ends_on": item.ends_on.isoformat(),
        "description": "協助校慶接待與引導。",
        "organiser": "學務處",
        "hours": "6",
    }
    assert office.post(url, data)["Location"] == STAFF_LIST
    item.refresh_from_db()
    assert item.details["hours"] == "6"
    delete = reverse("performances:staff_delete", args=[item.pk])
    assert "cannot be undone" in office.get(delete).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert office.post(delete)["Location"] == STAFF_LIST
    assert not Performance.objects.filter(pk=item.pk).exists()
    assert StoredFile.objects.count() == 0
    assert stored_files(storage_dir) == []


def test_an_office_cannot_touch_a_students_own_item(world, office):
    item = world.add()
    for name in ("performances:staff_edit", "performances:staff_delete"):
        url = reverse(name, args=[item.pk])
        assert office.get(url).status_code == 404
        assert office.post(url).status_code == 404
    assert Performance.objects.filter(pk=item.pk).exists()


@pytest.mark.parametrize("role", [Role.TEACHER, Role.HOMEROOM, Role.STUDENT])
def test_other_roles_cannot_use_the_office_pages(world, as_role, role):
    item = world.enter()
    client = as_role(role)
    assert client.get(STAFF_LIST).status_code == 403
    assert client.get(STAFF_ADD).status_code == 403
    assert client.get(reverse("performances:staff_edit", args=[item.pk])).status_code == 403
    assert client.post(reverse("performances:staff_delete", args=[item.pk])).status_code == 403
    assert Performance.objects.filter(pk=item.pk).exists()


def test_another_schools_office_gets_404(world, make_member, other_school):
    item = world.enter()
    client = client_for(make_member(other_school, Role.STUDENT_AFFAIRS))
    assert client.get(reverse("performances:staff_edit", args=[item.pk])).status_code == 404
    assert client.post(reverse("performances:staff_delete", args=[item.pk])).status_code == 404
    assert world.enter().pk not in [
        p.pk for p in client.get(STAFF_LIST).context["page"].object_list
    ]


def test_an_office_changes_only_what_it_entered(world, office, make_member):
    theirs = world.enter()  # entered by student affairs (the world's office)
    assert theirs.entered_by_office == Role.STUDENT_AFFAIRS
    registry = client_for(make_member(world.school, Role.REGISTRY))
    registry.cookies["django_language"] = "en"
    page = registry.get(STAFF_LIST).content.decode()
    assert "校慶志工" in page and "Only that office may change it" in page
    assert reverse("performances:staff_edit", args=[theirs.pk]) not in page
    for name in ("performances:staff_edit", "performances:staff_delete"):
        url = reverse(name, args=[theirs.pk])
        assert registry.get(url).status_code == 404
        assert registry.post(url, {"name": "x"}).status_code == 404
    assert office.get(reverse("performances:staff_edit", args=[theirs.pk])).status_code == 200
    theirs.refresh_from_db()
    assert theirs.name == "校慶志工"
