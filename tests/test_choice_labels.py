"""``ChoiceLabels``: the same words as Django's ``get_FOO_display``, in the active language."""

import pytest
from django.db import models
from django.utils import translation

from submissions.models import CourseOutcome, OutcomeState, Performance, PerformanceCategory


def _django_display(instance: models.Model, name: str) -> str:
    field = instance._meta.get_field(name)
    return models.Model._get_FIELD_display(instance, field)


@pytest.mark.parametrize("language", ["en", "zh-hant"])
def test_every_choice_reads_as_djangos_in_each_language(language):
    cases = [(CourseOutcome(state=state), "state") for state in OutcomeState]
    cases += [(Performance(category=category), "category") for category in PerformanceCategory]
    cases += [(CourseOutcome(state="not-a-state"), "state")]  # a value without a label
    with translation.override(language):
        for instance, name in cases:
            ours = getattr(instance, f"get_{name}_display")()
            assert ours == _django_display(instance, name)
            assert isinstance(ours, str)
    with translation.override("zh-hant"):
        zh = CourseOutcome(state=OutcomeState.CERTIFIED).get_state_display()
    with translation.override("en"):
        en = CourseOutcome(state=OutcomeState.CERTIFIED).get_state_display()
    assert zh != en  # lazy labels, said in the language of each call
