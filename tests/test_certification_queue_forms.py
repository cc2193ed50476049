"""The queue's reject forms, rendered once per page and given each item's prefix and time
(certification.forms.QueueRejectForms): the same HTML as Django's rendering of each item's
own form, and a refused reject still comes back through Django's bound form."""

import datetime as dt
import re

import pytest
import time_machine
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from certification.forms import (
    REJECT_FIELDS,
    STAND_IN_PK,
    STAND_IN_SEEN_AT,
    QueueRejectForms,
    RejectForm,
)
from submissions.models import OutcomeState
from tests.builders.certification import CertWorld
from tests.builders.people import client_for, english

QUEUE = reverse("certification:queue")
TAIPEI = dt.timezone(dt.timedelta(hours=8))


def django_rendering(pk: int, seen_at: dt.datetime) -> tuple[str, str]:
    form = RejectForm(pk=pk, initial={"seen_at": seen_at})
    return str(form["seen_at"]), render_to_string(REJECT_FIELDS, {"form": form})


@pytest.mark.parametrize("language", ["en", "zh-hant"])
@pytest.mark.parametrize(
    "seen_at",
    [
        dt.datetime(2025, 9, 1, 10, 0, 0, 123456, tzinfo=dt.UTC),
        dt.datetime(2025, 12, 31, 23, 59, 59, tzinfo=TAIPEI),
        dt.datetime(2026, 1, 2, 3, 4, 5, 1, tzinfo=dt.UTC),
    ],
)
def test_each_item_gets_what_django_renders_for_its_own_form(language, seen_at):
    with translation.override(language):
        forms = QueueRejectForms()
        for pk in (1, 7, 12, 77, 918, 20251231):
            item = forms.item(pk, seen_at, action=f"/certification/{pk}/?next=2")
            hidden, fields = django_rendering(pk, seen_at)
            assert item.seen_at == hidden
            assert item.fields == fields
            assert item.action == f"/certification/{pk}/?next=2"
            assert str(STAND_IN_PK) not in item.seen_at + item.fields
            assert STAND_IN_SEEN_AT not in item.seen_at
    assert 'name="o7-seen_at"' in forms.item(7, seen_at, action="").seen_at


def test_the_page_s_time_is_read_back_as_the_outcome_s():
    seen_at = dt.datetime(2025, 9, 1, 2, 3, 4, 567890, tzinfo=dt.UTC)
    hidden = QueueRejectForms().item(5, seen_at, action="").seen_at
    value = re.search(r'value="([^"]+)"', hidden).group(1)
    form = RejectForm({"o5-seen_at": value, "o5-reason_code": "other"}, pk=5)
    form.is_valid()
    assert form.cleaned_data["seen_at"] == seen_at


# --- through the pages ---------------------------------------------------------------------------


@pytest.fixture
def w(school, make_member, storage_dir):
    world = CertWorld(school, make_member)
    with time_machine.travel(world.now, tick=False):
        yield world


@pytest.fixture
def tan(w):
    return english(client_for(w.teacher))


def test_the_queue_shows_each_item_s_form_as_django_renders_it(w, tan):
    first, second, third = w.row(), w.row(), w.row()
    response = tan.get(f"{QUEUE}?school_class={w.klass.pk}")
    # The one form is rendered inside the page: the page's context comes first (the
    # benchmark reads it so).
    assert response.context["options"].total_awaiting == 3
    assert len(response.context["page"].object_list) == 3
    page = response.content.decode()
    with translation.override("en"):
        for outcome, following in ((first, second), (second, third), (third, second)):
            outcome.refresh_from_db()
            hidden, fields = django_rendering(outcome.pk, outcome.updated_at)
            assert page.count(hidden) == 1
            assert page.count(fields) == 1
            url = reverse("certification:decide", args=[outcome.pk])
            action = f'formaction="{url}?school_class={w.klass.pk}&amp;next={following.pk}"'
            assert page.count(action) == 2  # Certify and Reject
    assert str(STAND_IN_PK) not in page and STAND_IN_SEEN_AT not in page
    assert page.count('aria-describedby="id_o') == 3  # each words box with its help text


def test_a_refused_reject_comes_back_with_django_s_bound_form(w, tan):
    outcome = w.row()
    outcome.refresh_from_db()
    page = tan.get(QUEUE).content.decode()
    value = re.search(rf'name="o{outcome.pk}-seen_at" value="([^"]+)"', page).group(1)
    response = tan.post(
        reverse("certification:decide", args=[outcome.pk]),
        {
            "action": "reject",
            f"o{outcome.pk}-seen_at": value,
            f"o{outcome.pk}-reason_code": "other",
            f"o{outcome.pk}-reason_text": "",
        },
    )
    assert response.status_code == 200
    refused = response.content.decode()
    words = f"id_o{outcome.pk}-reason_text"
    box = re.search(rf'<textarea [^>]*id="{words}"[^>]*>', refused).group(0)
    assert f'aria-describedby="{words}_helptext {words}_error"' in box
    assert 'aria-invalid="true"' in box
    assert f'id="{words}_error"' in refused
    assert re.search(r'<input type="radio"[^>]*value="other"[^>]*checked', refused)
    assert str(STAND_IN_PK) not in refused
    outcome.refresh_from_db()
    assert outcome.state == OutcomeState.SUBMITTED
    # Back in the queue the item's form is blank again, with the outcome's time.
    page = tan.get(QUEUE).content.decode()
    with translation.override("en"):
        hidden, fields = django_rendering(outcome.pk, outcome.updated_at)
    assert hidden in page and fields in page
    assert timezone.localtime(outcome.updated_at).isoformat(sep=" ")[:19] in hidden
