"""The offices set each class's homeroom teacher and course consultants."""

import pytest
from django.urls import reverse

from accounts.models import Division, Role
from portfolio.models import AuditLog
from records.models import Student
from records.services.students import school_class_create
from tests.builders.people import client_for


@pytest.fixture
def klass(school, current_roc_year):
    year = school.years.get(roc_year=current_roc_year)
    return school_class_create(
        school=school, school_year=year, name="101", grade=10, division=Division.DAY,
        homeroom_teacher=None, by=None,
    )  # fmt: skip


def test_registry_sets_homeroom_and_consultants_who_then_see_the_class(school, make_member, klass):
    registry = client_for(make_member(school, Role.REGISTRY))
    homeroom = make_member(school, Role.HOMEROOM, username="hr")
    consultant = make_member(school, Role.CONSULTANT, username="cs")
    Student.objects.create(school=school, student_number="1", name="甲", school_class=klass)
    url = reverse("classes:edit", args=[klass.pk])
    response = registry.post(
        url, {"homeroom_teacher": homeroom.user_id, "consultants": [consultant.user_id]}
    )
    assert response.status_code == 302
    klass.refresh_from_db()
    assert klass.homeroom_teacher == homeroom.user
    assert list(klass.consultants.all()) == [consultant.user]
    actions = set(AuditLog.objects.values_list("action", flat=True))
    assert {"class.homeroom", "class.consultant_add"} <= actions
    roster = client_for(homeroom).get(reverse("staffrecords:roster"))
    assert "甲" in roster.content.decode()
    registry.post(url, {"homeroom_teacher": "", "consultants": []})
    klass.refresh_from_db()
    assert klass.homeroom_teacher is None and not klass.consultants.exists()


def test_only_homeroom_and_consultant_members_can_be_chosen(school, make_member, klass):
    registry = client_for(make_member(school, Role.REGISTRY))
    teacher = make_member(school, Role.TEACHER)
    response = registry.post(
        reverse("classes:edit", args=[klass.pk]), {"homeroom_teacher": teacher.user_id}
    )
    assert response.status_code == 200
    assert 'id="id_homeroom_teacher_error"' in response.content.decode()


def test_list_and_export(school, make_member, klass, django_assert_max_num_queries):
    client = client_for(make_member(school, Role.CURRICULUM))
    with django_assert_max_num_queries(8):
        response = client.get(reverse("classes:list"))
    assert "101" in response.content.decode()
    export = client.get(reverse("classes:list"), {"export": "xlsx"})
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")


def test_other_school_cannot_edit(other_school, make_member, klass):
    outsider = client_for(make_member(other_school, Role.REGISTRY))
    assert outsider.get(reverse("classes:edit", args=[klass.pk])).status_code == 404
