"""Late upload windows for one student: granted and ended by the registry, audited, honoured by
the upload service for that student only."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Division, Role
from portfolio.models import AuditLog, Term
from records.models import CourseEnrolment, SchoolClass, Student
from submissions.models import ExtensionKind, WindowExtension
from submissions.services.extensions import extension_end, extension_grant
from tests.builders.people import acting, client_for, english
from tests.builders.portfolio import World, pdf

REASON = "住院治療，出院後補交"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def world(school, storage_dir):
    world = World(school)
    world.classmate = Student.objects.create(
        school=school, student_number="S2", name="乙", school_class=world.klass
    )
    world.classmate_enrolment = CourseEnrolment.objects.create(
        school=school, student=world.classmate, course=world.enrolment.course
    )
    world.after = world.closes + dt.timedelta(days=1)
    return world


@pytest.fixture
def registry(school, make_member):
    return make_member(school, Role.REGISTRY)


def grant(world, registry, **overrides):
    args = {
        "student": world.student,
        "term": world.term1,
        "kind": ExtensionKind.OUTCOME_UPLOAD,
        "ends_at": world.after + dt.timedelta(days=3),
        "reason": REASON,
        "by": acting(registry),
        "now": world.after,
    }
    args.update(overrides)
    return extension_grant(**args)


def problems(exc: pytest.ExceptionInfo) -> dict[str, list[str]]:
    return exc.value.message_dict


# --- the service -----------------------------------------------------------------------------


def test_extension_opens_the_window_for_that_student_only_until_it_ends(world, registry):
    with time_machine.travel(world.after, tick=False):
        with pytest.raises(ValidationError):
            world.upload(now=None)
        extension = grant(world, registry)
        assert world.upload(now=None).pk
        with pytest.raises(ValidationError) as refused:
            world.upload(student=world.classmate, enrolment=world.classmate_enrolment, now=None)
    assert "upload window" in problems(refused)[NON_FIELD_ERRORS][0]

    later = world.after + dt.timedelta(hours=1)
    with time_machine.travel(later, tick=False):
        extension_end(extension=extension, by=acting(registry), now=None)
        with pytest.raises(ValidationError):
            world.upload(document=pdf("second.pdf"), now=None)
    extension.refresh_from_db()
    assert extension.ends_at == later

    granted = AuditLog.objects.get(action="window.extend")
    assert granted.target_id == str(extension.pk)
    assert granted.actor == registry.user
    assert granted.changes["reason"] == REASON
    assert granted.changes["student"] == world.student.pk
    ended = AuditLog.objects.get(action="window.extension_end")
    assert dt.datetime.fromisoformat(ended.changes["ends_at"][1]) == later


def test_extension_closes_by_itself(world, registry):
    grant(world, registry, ends_at=world.after + dt.timedelta(hours=2))
    assert world.upload(now=world.after + dt.timedelta(hours=1)).pk
    with pytest.raises(ValidationError):
        world.upload(now=world.after + dt.timedelta(hours=2), document=pdf("late.pdf"))


def test_an_extension_of_the_other_kind_or_term_opens_nothing(world, registry):
    grant(world, registry, kind=ExtensionKind.PERFORMANCE_UPLOAD)
    grant(world, registry, term=world.term2)
    with pytest.raises(ValidationError):
        world.upload(now=world.after)


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"ends_at": -dt.timedelta(minutes=1)}, "ends_at", "in the future"),
        ({"ends_at": dt.timedelta(days=61)}, "ends_at", "at most 60 days"),
        ({"reason": "  病假 "}, "reason", "at least 4 characters"),
        ({"reason": "x" * 501}, "reason", "at most 500"),
        ({"kind": "certification"}, "kind", "Choose the window"),
    ],
)
def test_grant_refusals_name_the_field(world, registry, overrides, field, words):
    if "ends_at" in overrides:
        overrides = {"ends_at": world.after + overrides["ends_at"]}
    with pytest.raises(ValidationError) as exc:
        grant(world, registry, **overrides)
    assert words in problems(exc)[field][0]
    assert not WindowExtension.objects.exists()
    assert not AuditLog.objects.filter(action="window.extend").exists()


def test_exactly_60_days_is_allowed(world, registry):
    assert grant(world, registry, ends_at=world.after + dt.timedelta(days=60)).pk


def test_student_and_term_of_another_school_are_refused(world, registry, other_school):
    stranger = Student.objects.create(school=other_school, student_number="S1", name="丙")
    other_term = Term.objects.filter(school=other_school).first()
    with pytest.raises(ValidationError) as exc:
        grant(world, registry, student=stranger, term=other_term)
    assert set(problems(exc)) == {"student", "term"}


def test_a_student_of_the_other_division_is_refused(world, make_member, school):
    evening = make_member(school, Role.REGISTRY, division=Division.CONTINUING)
    with pytest.raises(ValidationError) as exc:
        grant(world, evening)
    assert "student" in problems(exc)


def test_only_the_registry_grants_and_ends(world, registry, make_member, school):
    teacher = make_member(school, Role.TEACHER)
    with pytest.raises(PermissionDenied):
        grant(world, teacher)
    extension = grant(world, registry)
    with pytest.raises(PermissionDenied):
        extension_end(extension=extension, by=acting(teacher), now=world.after)


def test_one_extension_in_force_at_a_time(world, registry):
    first = grant(world, registry)
    with pytest.raises(ValidationError) as exc:
        grant(world, registry, ends_at=world.after + dt.timedelta(days=5))
    assert "End that extension first" in problems(exc)[NON_FIELD_ERRORS][0]
    extension_end(extension=first, by=acting(registry), now=world.after + dt.timedelta(hours=1))
    assert grant(world, registry, now=world.after + dt.timedelta(hours=2)).pk


def test_ending_an_ended_extension_is_refused(world, registry):
    extension = grant(world, registry, ends_at=world.after + dt.timedelta(hours=1))
    with pytest.raises(ValidationError) as exc:
        extension_end(
            extension=extension, by=acting(registry), now=world.after + dt.timedelta(hours=2)
        )
    assert "already closed" in problems(exc)[NON_FIELD_ERRORS][0]
    assert not AuditLog.objects.filter(action="window.extension_end").exists()


def test_ending_at_the_instant_of_the_grant_still_ends_it(world, registry):
    extension = grant(world, registry)
    extension_end(extension=extension, by=acting(registry), now=world.after)
    extension.refresh_from_db()
    assert not extension.is_open_at(world.after + dt.timedelta(microseconds=1))


# --- the pages -------------------------------------------------------------------------------


def local_input(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_add_page_defaults_to_the_current_term_and_grants(world, registry):
    client = client_for(registry)
    url = reverse("extensions:add")
    page = client.get(url, {"student": world.student.pk})
    assert page.status_code == 200
    form = page.context["form"]
    assert form.initial["student_number"] == "S1"
    assert form.initial["term"] == Term.objects.current_for(world.school)
    assert "甲" in page.content.decode()
    ends = timezone.now() + dt.timedelta(days=2)
    response = client.post(
        url,
        {
            "student_number": "S1",
            "term": world.term1.pk,
            "kind": ExtensionKind.OUTCOME_UPLOAD,
            "ends_at": local_input(ends),
            "reason": REASON,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("extensions:list")
    extension = WindowExtension.objects.get()
    assert extension.student == world.student and extension.granted_by == registry.user
    assert extension.ends_at == ends.replace(second=0, microsecond=0)
    assert extension.school == world.school


def test_add_page_shows_errors_next_to_fields_and_keeps_input(world, registry):
    response = english(client_for(registry)).post(
        reverse("extensions:add"),
        {
            "student_number": "NOPE",
            "term": world.term1.pk,
            "kind": ExtensionKind.OUTCOME_UPLOAD,
            "ends_at": local_input(timezone.now() - dt.timedelta(days=1)),
            "reason": "病",
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "No student of your division" in form.errors["student_number"][0]
    html = response.content.decode()
    assert 'aria-describedby="id_student_number_helptext id_student_number_error"' in html
    assert 'value="NOPE"' in html
    assert not WindowExtension.objects.exists()

    response = english(client_for(registry)).post(
        reverse("extensions:add"),
        {
            "student_number": "S1",
            "term": world.term1.pk,
            "kind": ExtensionKind.OUTCOME_UPLOAD,
            "ends_at": local_input(timezone.now() - dt.timedelta(days=1)),
            "reason": "病",
        },
    )
    form = response.context["form"]
    assert "in the future" in form.errors["ends_at"][0]
    assert "at least 4 characters" in form.errors["reason"][0]
    assert not WindowExtension.objects.exists()


def test_another_schools_student_is_404(world, registry, other_school):
    stranger = Student.objects.create(school=other_school, student_number="S9", name="丙")
    client = client_for(registry)
    assert client.get(reverse("extensions:add"), {"student": stranger.pk}).status_code == 404
    assert client.get(reverse("extensions:add"), {"student": "x"}).status_code == 404
    response = client.post(
        reverse("extensions:add"),
        {
            "student_number": "S9",
            "term": world.term1.pk,
            "kind": ExtensionKind.OUTCOME_UPLOAD,
            "ends_at": local_input(timezone.now() + dt.timedelta(days=1)),
            "reason": REASON,
        },
    )
    assert "student_number" in response.context["form"].errors
    assert not WindowExtension.objects.exists()


def test_end_button_ends_it_and_others_cannot(world, registry, make_member, other_school):
    extension = grant(
        world, registry, now=timezone.now(), ends_at=timezone.now() + dt.timedelta(days=1)
    )
    url = reverse("extensions:end", args=[extension.pk])
    outsider = make_member(other_school, Role.REGISTRY)
    assert client_for(outsider).post(url).status_code == 404
    teacher = make_member(world.school, Role.TEACHER)
    assert client_for(teacher).post(url).status_code == 403
    client = english(client_for(registry))
    assert client.get(url).status_code == 405
    response = client.post(url, follow=True)
    assert "window is closed for them again" in response.content.decode()
    extension.refresh_from_db()
    assert extension.ends_at <= timezone.now()
    again = client.post(url, follow=True)
    assert "already closed" in again.content.decode()
    assert AuditLog.objects.filter(action="window.extension_end").count() == 1


@pytest.mark.parametrize("role", [Role.TEACHER, Role.STUDENT, Role.HOMEROOM, Role.SCHOOL_ADMIN])
def test_pages_are_the_registrys(school, make_member, role):
    client = client_for(make_member(school, role))
    assert client.get(reverse("extensions:list")).status_code == 403
    assert client.get(reverse("extensions:add")).status_code == 403


def test_list_in_force_first_filters_and_queries_stay_flat(
    world, registry, django_assert_num_queries
):
    now = timezone.now()
    ended = grant(
        world, registry, now=now - dt.timedelta(days=3), ends_at=now - dt.timedelta(days=1)
    )
    client = client_for(registry)
    url = reverse("extensions:list")
    with CaptureQueriesContext(connection) as first:
        client.get(url)
    klass = SchoolClass.objects.create(
        school=world.school, school_year=world.term1.school_year, name="102", grade=10
    )
    for n in range(30):
        student = Student.objects.create(
            school=world.school, student_number=f"T{n:03}", name=f"生{n}", school_class=klass
        )
        grant(world, registry, student=student, now=now, ends_at=now + dt.timedelta(days=1 + n))
    with django_assert_num_queries(len(first.captured_queries)):
        response = client.get(url)
    rows = list(response.context["page"].object_list)
    assert rows[0].student.student_number == "T000"  # in force, closing soonest
    assert rows[-1] == ended
    html = response.content.decode()
    assert REASON in html and "102" in html and str(registry.user) in html
    assert client.get(url, {"state": "ended"}).context["page"].paginator.count == 1
    assert client.get(url, {"state": "in_force"}).context["page"].paginator.count == 30
    assert client.get(url, {"q": "T005"}).context["page"].paginator.count == 1


def test_list_shows_only_the_offices_division(world, registry, make_member, school):
    grant(world, registry)
    evening = make_member(school, Role.REGISTRY, division=Division.CONTINUING)
    page = client_for(evening).get(reverse("extensions:list")).context["page"]
    assert page.paginator.count == 0
    extension = WindowExtension.objects.get()
    assert (
        client_for(evening).post(reverse("extensions:end", args=[extension.pk])).status_code == 404
    )
