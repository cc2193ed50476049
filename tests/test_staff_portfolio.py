"""A student's portfolio on the student's record, as the offices and the homeroom teacher
read it: states, who certified, rejection reasons, performances, files to download; the
page's queries do not grow with the items."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from submissions.models import (
    CourseOutcome,
    OutcomeState,
    Performance,
    PerformanceCategory,
    PerformanceSource,
)
from tests.builders.people import client_for, english
from tests.builders.portfolio import World


@pytest.fixture
def world(school, storage_dir):
    return World(school)


def test_registry_reads_the_portfolio_on_the_students_record(world, make_member):
    teacher = make_member(world.school, Role.TEACHER, username="liu", name="劉老師")
    certified = world.upload(title="Pendulum lab")
    CourseOutcome.objects.filter(pk=certified.pk).update(
        state=OutcomeState.CERTIFIED, certified_by=teacher.user, certified_at=timezone.now()
    )
    rejected = world.row(state=OutcomeState.REJECTED)
    CourseOutcome.objects.filter(pk=rejected.pk).update(rejection_reason="Not from this course.")
    Performance.objects.create(
        school=world.school,
        student=world.student,
        school_year=world.term1.school_year,
        category=PerformanceCategory.COMPETITION,
        source=PerformanceSource.SCHOOL,
        name="Science fair",
    )
    registry = english(client_for(make_member(world.school, Role.REGISTRY)))
    page = registry.get(reverse("basicdata:student", args=[world.student.pk])).content.decode()
    assert 'id="portfolio"' in page
    assert "Pendulum lab" in page and "by 劉老師 on" in page
    assert "Not from this course." in page
    assert "Science fair" in page and "Entered by the school" in page
    download = reverse("files:download", args=[certified.document_id])
    assert download in page
    assert registry.get(download).status_code == 200


def test_the_record_page_queries_do_not_grow_with_the_portfolio(
    world, make_member, django_assert_num_queries
):
    registry = client_for(make_member(world.school, Role.REGISTRY))
    teacher = make_member(world.school, Role.TEACHER).user
    url = reverse("basicdata:student", args=[world.student.pk])
    for _ in range(3):
        world.row()
    registry.get(url)
    with CaptureQueriesContext(connection) as few:
        registry.get(url)
    for _ in range(30):
        world.row(state=OutcomeState.CERTIFIED)
    CourseOutcome.objects.filter(state=OutcomeState.CERTIFIED).update(
        certified_by=teacher, certified_at=timezone.now()
    )
    with django_assert_num_queries(len(few.captured_queries)):
        assert registry.get(url).status_code == 200
