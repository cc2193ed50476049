"""Concerns (反映): a student raises one about a decision on their outcome; it reaches the
course's teachers and the registry, who answer in the thread; the student sees the answer; the
registry can reopen from there; open concerns are counted on the homes of those who answer; a
concern is seen only by the student, the course's teachers (and deputies) and the registry."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import translation

from accounts.models import Role
from certification import concerns
from certification.models import Concern
from certification.services import outcome_certify
from portfolio.models import AuditLog
from tests.builders.certification import CertWorld
from tests.builders.people import acting, client_for, english


@pytest.fixture
def w(school, make_member, storage_dir):
    world = CertWorld(school, make_member)
    member = make_member(school, Role.STUDENT)
    world.student.user = member.user
    world.student.save(update_fields=["user"])
    world.member = member
    outcome = world.row()
    world.outcome = outcome_certify(
        outcome=outcome, by=acting(world.teacher), now=world.now, seen_at=outcome.updated_at
    )
    return world


def test_raise_answer_and_answer_again(w, make_member):
    student = acting(w.member)
    concern = concerns.concern_raise(outcome=w.outcome, acting=student, text="我覺得不是這份作品")
    assert concern.is_waiting
    assert concerns.waiting_count_for(acting(w.teacher)) == 1
    registry = acting(make_member(w.school, Role.REGISTRY))
    assert concerns.waiting_count_for(registry) == 1
    concerns.concern_reply(concern=concern, acting=acting(w.teacher), text="我會再看一次")
    concern.refresh_from_db()
    assert not concern.is_waiting and concerns.waiting_count_for(registry) == 0
    # The student writes again: waiting again; a second concern is the same thread.
    again = concerns.concern_raise(outcome=w.outcome, acting=student, text="補充說明")
    assert again.pk == concern.pk and again.is_waiting and Concern.objects.count() == 1
    assert concern.messages.count() == 3
    assert AuditLog.objects.filter(action__startswith="concern.").count() == 3


def test_only_on_a_decision_with_text_by_the_student_themself(w, make_member):
    student = acting(w.member)
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        concerns.concern_raise(outcome=w.outcome, acting=student, text="  ")
    assert "Write your message." in str(refused.value)
    draft = w.row(state="draft")
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        concerns.concern_raise(outcome=draft, acting=student, text="x")
    assert "about a decision" in str(refused.value)
    other = acting(make_member(w.school, Role.STUDENT))
    with pytest.raises(PermissionDenied):
        concerns.concern_raise(outcome=w.outcome, acting=other, text="x")
    concern = concerns.concern_raise(outcome=w.outcome, acting=student, text="為什麼")
    stranger = acting(make_member(w.school, Role.TEACHER))
    with pytest.raises(PermissionDenied):
        concerns.concern_reply(concern=concern, acting=stranger, text="x")


def test_the_pages(w, make_member, other_school, django_assert_max_num_queries):
    client = english(client_for(w.member))
    portfolio = client.get(reverse("outcomes:portfolio")).content.decode()
    new_url = reverse("certification:concern_new", args=[w.outcome.pk])
    assert new_url in portfolio
    empty = client.post(new_url, {"text": ""})
    assert empty.status_code == 400 and 'aria-invalid="true"' in empty.content.decode()
    sent = client.post(new_url, {"text": "這是我的作品"})
    concern = Concern.objects.get()
    assert sent["Location"] == reverse("certification:concern", args=[concern.pk])
    assert client.get(new_url)["Location"] == sent["Location"]  # the thread, once it exists

    teacher = english(client_for(w.teacher))
    home = teacher.get(reverse("home")).content.decode()
    assert "Concerns waiting for your answer" in home
    with django_assert_max_num_queries(12):
        listing = teacher.get(reverse("certification:concerns"))
    assert w.outcome.title in listing.content.decode()
    teacher.post(reverse("certification:concern", args=[concern.pk]), {"text": "已確認是你的作品"})
    thread = client.get(reverse("certification:concern", args=[concern.pk])).content.decode()
    assert "已確認是你的作品" in thread and "Answered" in thread

    registry = english(client_for(make_member(w.school, Role.REGISTRY)))
    page = registry.get(reverse("certification:concern", args=[concern.pk])).content.decode()
    assert reverse("certification:reopen", args=[w.outcome.pk]) in page
    for outsider in (
        client_for(make_member(w.school, Role.STUDENT)),
        client_for(make_member(w.school, Role.TEACHER)),
        client_for(make_member(other_school, Role.REGISTRY)),
    ):
        assert outsider.get(reverse("certification:concern", args=[concern.pk])).status_code == 404
