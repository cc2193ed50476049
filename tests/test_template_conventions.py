"""Templates take decisions from views and models, not from strings they compare.

A role or a state spelled out in a template fails silently when the value is renamed; the
views pass permission flags (``may_edit``, ``item.may_change``) and the models name their
states (``outcome.is_rejected``), so the one place that decides is in Python.
"""

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
ROLE_COMPARED = re.compile(r"acting\.role\s*(==|!=|in\b)")
STATE_COMPARED = re.compile(r"\.(state|status)\s*(==|!=)\s*[\"']")


def offending(pattern: re.Pattern) -> list[str]:
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path.relative_to(TEMPLATES)}:{number}")
    return found


def test_no_template_compares_the_acting_role():
    assert offending(ROLE_COMPARED) == []


def test_no_template_compares_a_state_with_a_string():
    assert offending(STATE_COMPARED) == []


def test_the_scan_finds_what_it_looks_for():
    assert ROLE_COMPARED.search('{% if acting.role == "registry" %}')
    assert STATE_COMPARED.search("{% if outcome.state == 'draft' %}")
    assert not STATE_COMPARED.search("{% if outcome.is_draft %}")
