"""``{% path %}``: the same URL as ``{% url %}``, reversed once per view and configuration."""

import pytest
from django.template import Context, Template
from django.urls import reverse, set_script_prefix

from portfolio.templatetags import portfolio_tags

NAMES = ["files:inline", "files:download", "outcomes:edit", "performances:withdraw"]


def _render(source: str, **context) -> str:
    return Template("{% load portfolio_tags %}" + source).render(Context(context))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("pk", [1, 7, 42, 918273645501 - 1, 10**15])
def test_the_same_url_as_reverse(name, pk):
    assert _render("{% path name pk %}", name=name, pk=pk) == reverse(name, args=[pk])


def test_the_script_prefix_is_followed():
    plain = _render("{% path 'files:inline' 5 %}")
    set_script_prefix("/school/")
    try:
        assert _render("{% path 'files:inline' 5 %}") == "/school" + plain
        assert _render("{% path 'files:inline' 5 %}") == reverse("files:inline", args=[5])
    finally:
        set_script_prefix("/")


def test_another_url_configuration_is_reversed_again(settings):
    _render("{% path 'files:inline' 5 %}")
    settings.ROOT_URLCONF = "tests.builders.urls_for_path"
    assert portfolio_tags._PATTERNS == {}  # forgotten when the settings changed
    assert _render("{% path 'files:inline' 5 %}") == "/elsewhere/5/"


def test_arguments_that_are_not_integers_go_through_reverse():
    assert _render("{% path 'files:inline' '12' %}") == reverse("files:inline", args=["12"])
