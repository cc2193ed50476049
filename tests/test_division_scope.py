"""One scope per person: an office sees its own division's students on every page.

A school with a day and a continuing-education division; one student of each, with a record
of every kind the offices keep. Each office list shows its own division's student and not
the other's; each page about the other division's record answers 404, as if it did not
exist; the xlsx exports follow the lists. A deputy sees what their principal sees.
"""

import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from accounts import services as account_services
from accounts.acting import ActingContext
from accounts.models import Division, Role
from portal import dashboard
from portfolio.models import SchoolYear, Term
from records.models import CorrectionRequest, Course, CourseEnrolment
from records.services import staff as staff_services
from records.services import students as student_services
from submissions.models import ExtensionKind, Performance, PerformanceSource
from submissions.services.extensions import extension_grant
from tests.builders.people import client_for

DAY, CONTINUING = Division.DAY, Division.CONTINUING
NAMES = {DAY: "日間甲生", CONTINUING: "進修乙生"}
NUMBERS = {DAY: "D0001", CONTINUING: "C0001"}


@pytest.fixture
def divisions(school, make_member, current_roc_year):
    """Per division: a class, a student, and one record of each kind the offices keep."""
    year = SchoolYear.objects.get(school=school, roc_year=current_roc_year)
    term = Term.objects.get(school_year=year, number=1)
    counsellor = make_member(school, Role.COUNSELLOR, username="scope-counsellor").user
    club = staff_services.club_create(school=school, school_year=year, name="吉他社", by=None)
    course = Course.objects.create(
        school=school, term=term, code="A" * 23, name="國語文", grade=10, credits=4
    )
    found = {"term": term, "club": club, "course": course}
    for division, class_name in ((DAY, "101"), (CONTINUING, "701")):
        school_class = student_services.school_class_create(
            school=school,
            school_year=year,
            name=class_name,
            grade=10,
            division=division,
            homeroom_teacher=None,
            by=None,
        )
        student = student_services.student_create(
            school=school,
            student_number=NUMBERS[division],
            name=NAMES[division],
            school_class=school_class,
            seat_number=1,
            user=None,
            by=None,
        )
        common = {"school": school, "student": student, "by": None}
        registry = make_member(
            school, Role.REGISTRY, username=f"scope-registry-{division}", division=division
        )
        found[division] = {
            "class": school_class,
            "student": student,
            "cadre": staff_services.cadre_post_create(
                term=term,
                unit=class_name,
                title="班長",
                level="2",
                starts_on=term.starts_on,
                ends_on=term.ends_on,
                **common,
            ),
            "membership": staff_services.club_member_add(
                club=club, student=student, term=term, by=None
            ),
            "career": staff_services.career_record_create(
                counsellor=counsellor,
                held_on=timezone.localdate() - dt.timedelta(days=1),
                clusters=["01"],
                content="資訊學群",
                **common,
            ),
            "change": staff_services.enrolment_change_create(
                kind="transfer_in", effective_on=term.starts_on, **common
            ),
            "correction": CorrectionRequest.objects.create(
                school=school, student=student, office=Role.REGISTRY, topic="生日", message="錯"
            ),
            "performance": Performance.objects.create(
                school=school,
                student=student,
                school_year=year,
                category="other",
                name="校慶志工",
                description="服務",
                starts_on=timezone.localdate(),
                source=PerformanceSource.SCHOOL,
                details={"organiser": "學務處"},
            ),
            "extension": extension_grant(
                student=student,
                term=term,
                kind=ExtensionKind.OUTCOME_UPLOAD,
                ends_at=timezone.now() + dt.timedelta(days=3),
                reason="住院治療，出院後補交",
                by=ActingContext(user=registry.user, membership=registry),
                now=timezone.now(),
            ),
            "enrolment": CourseEnrolment.objects.create(
                school=school, student=student, course=course
            ),
        }
        staff_services.attendance_set(
            school=school, student=student, term=term, periods={"01": 2}, by=None
        )
    return found


def counter_values(acting, year) -> dict[str, int]:
    with translation.override("en"):
        return {str(c.label): c.value for c in dashboard.counters_for(acting, year=year)}


def office(make_member, school, role, division):
    return client_for(make_member(school, role, division=division))


# (role, URL name, kwargs builder or None): lists that name students.
LISTS = [
    (Role.STUDENT_AFFAIRS, "staffrecords:cadre_list", None),
    (Role.STUDENT_AFFAIRS, "staffrecords:club_detail", lambda w: {"pk": w["club"].pk}),
    (Role.STUDENT_AFFAIRS, "staffrecords:attendance_list", None),
    (Role.STUDENT_AFFAIRS, "performances:staff_list", None),
    (Role.COUNSELLOR, "staffrecords:career_list", None),
    (Role.REGISTRY, "staffrecords:change_list", None),
    (Role.REGISTRY, "basicdata:corrections", None),
    (Role.REGISTRY, "extensions:list", None),
    (Role.REGISTRY, "classes:list", None),
    (Role.CURRICULUM, "enrolments:detail", lambda w: {"pk": w["course"].pk}),
]


@pytest.mark.parametrize(("role", "name", "kwargs"), LISTS, ids=[row[1] for row in LISTS])
@pytest.mark.parametrize("division", [DAY, CONTINUING])
def test_a_list_shows_only_its_own_division(
    divisions, school, make_member, role, name, kwargs, division
):
    url = reverse(name, kwargs=kwargs(divisions) if kwargs else None)
    response = office(make_member, school, role, division).get(url)
    assert response.status_code == 200
    page = response.content.decode()
    other = CONTINUING if division == DAY else DAY
    if name == "classes:list":
        own, foreign = divisions[division]["class"].name, divisions[other]["class"].name
        assert f">{own}<" in page and f">{foreign}<" not in page
    else:
        assert NUMBERS[division] in page or NAMES[division] in page
        assert NUMBERS[other] not in page and NAMES[other] not in page


EXPORTS = [
    (Role.STUDENT_AFFAIRS, "staffrecords:cadre_list", None),
    (Role.STUDENT_AFFAIRS, "staffrecords:attendance_list", None),
    (Role.COUNSELLOR, "staffrecords:career_list", None),
    (Role.REGISTRY, "staffrecords:change_list", None),
    (Role.CURRICULUM, "enrolments:export", lambda w: {"pk": w["course"].pk}),
]


@pytest.mark.parametrize(("role", "name", "kwargs"), EXPORTS, ids=[row[1] for row in EXPORTS])
def test_an_export_holds_only_its_own_division(divisions, school, make_member, role, name, kwargs):
    url = reverse(name, kwargs=kwargs(divisions) if kwargs else None)
    response = office(make_member, school, role, DAY).get(url, {"export": "xlsx"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    cells = {str(value) for row in sheet.iter_rows(values_only=True) for value in row}
    assert NUMBERS[DAY] in cells and NUMBERS[CONTINUING] not in cells


# (role, URL name, kwargs builder from one division's records, method)
OBJECTS = [
    (Role.STUDENT_AFFAIRS, "staffrecords:cadre_edit", lambda d: {"pk": d["cadre"].pk}, "get"),
    (Role.STUDENT_AFFAIRS, "staffrecords:cadre_delete", lambda d: {"pk": d["cadre"].pk}, "post"),
    (
        Role.STUDENT_AFFAIRS,
        "staffrecords:club_member_delete",
        lambda d: {"pk": d["membership"].pk},
        "post",
    ),
    (
        Role.STUDENT_AFFAIRS,
        "staffrecords:attendance_edit",
        lambda d: {"term_pk": d["cadre"].term_id, "student_pk": d["student"].pk},
        "get",
    ),
    (
        Role.STUDENT_AFFAIRS,
        "performances:staff_edit",
        lambda d: {"pk": d["performance"].pk},
        "get",
    ),
    (Role.COUNSELLOR, "staffrecords:career_edit", lambda d: {"pk": d["career"].pk}, "get"),
    (Role.COUNSELLOR, "staffrecords:career_delete", lambda d: {"pk": d["career"].pk}, "post"),
    (Role.REGISTRY, "staffrecords:change_edit", lambda d: {"pk": d["change"].pk}, "get"),
    (Role.REGISTRY, "staffrecords:change_delete", lambda d: {"pk": d["change"].pk}, "post"),
    (Role.REGISTRY, "staffrecords:student_changes", lambda d: {"pk": d["student"].pk}, "get"),
    (Role.REGISTRY, "basicdata:student", lambda d: {"pk": d["student"].pk}, "get"),
    (Role.REGISTRY, "basicdata:student_edit", lambda d: {"pk": d["student"].pk}, "get"),
    (Role.REGISTRY, "basicdata:correction", lambda d: {"pk": d["correction"].pk}, "get"),
    (Role.REGISTRY, "extensions:end", lambda d: {"pk": d["extension"].pk}, "post"),
    (Role.REGISTRY, "classes:edit", lambda d: {"pk": d["class"].pk}, "get"),
    (
        Role.REGISTRY,
        "enrolments:grade",
        lambda d: {"pk": d["enrolment"].course_id, "enrolment_pk": d["enrolment"].pk},
        "get",
    ),
]


@pytest.mark.parametrize(("role", "name", "kwargs", "method"), OBJECTS, ids=[r[1] for r in OBJECTS])
def test_the_other_divisions_record_is_not_found(
    divisions, school, make_member, role, name, kwargs, method
):
    """404 across the divisions; the same page of the office's own division works."""
    client = office(make_member, school, role, DAY)
    foreign = reverse(name, kwargs=kwargs(divisions[CONTINUING]))
    assert getattr(client, method)(foreign).status_code == 404
    own = reverse(name, kwargs=kwargs(divisions[DAY]))
    assert getattr(client, method)(own).status_code in (200, 302)


def test_the_student_picker_offers_only_its_own_division(divisions, school, make_member):
    client = office(make_member, school, Role.STUDENT_AFFAIRS, DAY)
    page = client.get(reverse("staffrecords:cadre_add")).content.decode()
    assert NUMBERS[DAY] in page and NUMBERS[CONTINUING] not in page
    refused = client.post(
        reverse("staffrecords:cadre_add"),
        {
            "student": NUMBERS[CONTINUING],
            "term": divisions["term"].pk,
            "unit": "701",
            "title": "副班長",
            "level": "2",
            "starts_on": divisions["term"].starts_on.isoformat(),
            "ends_on": divisions["term"].ends_on.isoformat(),
        },
    )
    assert refused.status_code == 200 and "student" in refused.context["form"].errors


def test_home_counters_count_the_own_division(divisions, school, make_member):
    membership = make_member(school, Role.REGISTRY, division=CONTINUING)
    acting = ActingContext(user=membership.user, membership=membership)
    year = SchoolYear.objects.get(school=school, roc_year=divisions["term"].school_year.roc_year)
    counters = counter_values(acting, year)
    assert counters["Students on the roll"] == 1
    assert counters["Classes this school year"] == 1
    assert counters["Correction requests waiting"] == 1


def test_a_deputy_sees_the_principals_classes(divisions, school, make_member):
    """A homeroom teacher's deputy: the roster and the home counters of the principal's
    classes of this school year, not the deputy's own (none)."""
    teacher = make_member(school, Role.HOMEROOM, username="scope-homeroom")
    day_class = divisions[DAY]["class"]
    day_class.homeroom_teacher = teacher.user
    day_class.save(update_fields=["homeroom_teacher"])
    stand_in = make_member(school, Role.TEACHER, username="scope-stand-in")
    deputy = account_services.deputy_create(
        school=school,
        role=Role.HOMEROOM,
        division=DAY,
        principal=teacher.user,
        deputy=stand_in.user,
        order=1,
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate() + dt.timedelta(days=7),
        by=None,
    )
    acting = ActingContext(user=stand_in.user, membership=teacher, deputy=deputy)
    year = day_class.school_year
    assert counter_values(acting, year) == {"My classes": 1, "Students in my classes": 1}
    client = client_for(stand_in)
    session = client.session
    session["acting"] = {"membership": teacher.pk, "deputy": deputy.pk}
    session.save()
    page = client.get(reverse("staffrecords:roster")).content.decode()
    assert NAMES[DAY] in page and NAMES[CONTINUING] not in page
    detail = reverse("basicdata:student", args=[divisions[DAY]["student"].pk])
    assert client.get(detail).status_code == 200
    other = reverse("basicdata:student", args=[divisions[CONTINUING]["student"].pk])
    assert client.get(other).status_code == 404


def test_last_years_class_is_not_the_homerooms_any_more(divisions, school, make_member):
    """A homeroom teacher sees the classes they lead this school year, not earlier ones."""
    teacher = make_member(school, Role.HOMEROOM, username="scope-last-year")
    current = divisions["term"].school_year
    earlier = SchoolYear.objects.create(school=school, roc_year=current.roc_year - 1)
    old_class = student_services.school_class_create(
        school=school,
        school_year=earlier,
        name="001",
        grade=10,
        division=DAY,
        homeroom_teacher=teacher.user,
        by=None,
    )
    student = divisions[DAY]["student"]
    student.school_class = old_class
    student.save(update_fields=["school_class"])
    client = client_for(teacher)
    assert client.get(reverse("basicdata:student", args=[student.pk])).status_code == 404
