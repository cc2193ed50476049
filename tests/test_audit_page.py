"""The audit log in words: every action the platform writes has a label in both languages,
and the school administrator filters the log by who, what and when."""

import ast
import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from accounts.models import Role
from portfolio.audit import AREAS, action_label, audit_write
from portfolio.models import AuditLog, WindowState
from records.imports import KINDS
from tests.builders.people import client_for

ROOT = Path(__file__).resolve().parent.parent
APPS = ("portfolio", "accounts", "records", "submissions", "certification", "portal")
URL = "/manage/audit/"


def written_codes() -> set[str]:
    """Every action code the source passes as ``action=`` (constants anywhere in the
    argument, so both sides of a conditional count), plus those built from parts."""
    codes: set[str] = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                if isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument":
                    continue  # a command's option (action="store_true"), not an audit code
                for keyword in node.keywords:
                    if keyword.arg != "action":
                        continue
                    built = {
                        id(part)
                        for joined in ast.walk(keyword.value)
                        if isinstance(joined, ast.JoinedStr)
                        for part in ast.walk(joined)
                    }
                    for inner in ast.walk(keyword.value):
                        if (
                            isinstance(inner, ast.Constant)
                            and isinstance(inner.value, str)
                            and id(inner) not in built
                        ):
                            codes.add(inner.value)
    codes.discard("store_true")  # argparse's action, not the audit's
    # Built from parts: window state transitions and one import per kind.
    codes |= {f"window.{state}" for state in WindowState.values}
    codes |= {f"import.{kind}" for kind in KINDS}
    return codes


def test_every_action_written_has_a_label():
    codes = written_codes()
    assert len(codes) > 70
    unlabelled = sorted(code for code in codes if action_label(code) == code)
    assert unlabelled == []


def test_every_action_the_demo_writes_has_a_label(db):
    call_command("seed_demo", verbosity=0)
    seen = set(AuditLog.objects.values_list("action", flat=True).distinct())
    assert len(seen) > 20
    assert sorted(code for code in seen if action_label(code) == code) == []


def test_labels_read_in_both_languages():
    with translation.override("en"):
        assert action_label("outcome.certify") == "Course outcome certified"
        assert action_label("import.grades") == "Import: Term grades (學期成績)"
    with translation.override("zh-hant"):
        assert action_label("outcome.certify") == "課程學習成果已認證"
        assert action_label("window.open") != "Window opened (on time, by the system)"
    assert action_label("retired.action") == "retired.action"


def test_no_area_labels_a_code_twice():
    codes = [code for area in AREAS.values() for code in area.actions]
    assert len(codes) == len(set(codes))


@pytest.fixture
def log(school, other_school, admin, make_member):
    """Entries of this school by a member, by a deputy, by the system, at known times; one
    of another school."""
    teacher = make_member(school, Role.TEACHER, username="tina", name="陳老師")
    principal = make_member(school, Role.REGISTRY, username="rita", name="李註冊")
    AuditLog.objects.all().delete()  # what setting up the schools and members wrote
    now = timezone.now()

    def entry(action, days_ago, actor=None, on_behalf_of=None, at=school, changes=None):
        row = AuditLog.objects.create(
            school=at,
            actor=actor,
            on_behalf_of=on_behalf_of,
            action=action,
            target_repr=f"{action} target",
            changes=changes or {},
        )
        AuditLog.objects.filter(pk=row.pk).update(created_at=now - dt.timedelta(days=days_ago))
        return row

    return {
        "certify": entry("outcome.certify", 1, actor=teacher.user),
        "deputy": entry("course.update", 2, actor=teacher.user, on_behalf_of=principal.user),
        "window": entry("window.open", 10, changes={"state": ["scheduled", "open"]}),
        "member": entry("member.update", 20, actor=admin.user, changes={"name": ["甲", "乙"]}),
        "unknown": entry("retired.action", 30, actor=admin.user),
        "elsewhere": entry("outcome.certify", 1, at=other_school),
    }


def listed(client: Client, **params) -> set[str]:
    with translation.override("en"):
        response = client.get(URL, params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return {row["entry"].action for row in response.context["rows"]}


def test_the_page_shows_labels_who_and_changes(log, admin_client):
    response = admin_client.get(URL)
    page = response.content.decode()
    assert "課程學習成果已認證" in page  # the label, in the school's language
    assert "outcome.certify" in page  # the code, small, for support staff
    assert "甲 → 乙" in page
    assert "retired.action" in page  # an old code shows as it is
    rows = {row["entry"].action: row for row in response.context["rows"]}
    assert rows["course.update"]["entry"].on_behalf_of is not None


def test_another_schools_entries_are_never_shown(log, admin_client):
    assert log["elsewhere"].pk not in {
        row["entry"].pk for row in admin_client.get(URL).context["rows"]
    }


def test_filter_by_person(log, admin_client):
    assert listed(admin_client, who="tina") == {"outcome.certify", "course.update"}
    assert listed(admin_client, who="李註冊") == {"course.update"}  # the person acted for
    assert listed(admin_client, by="system") == {"window.open"}
    assert "window.open" not in listed(admin_client, by="people")


def test_filter_by_action_and_by_area(log, admin_client):
    assert listed(admin_client, action="outcome.certify") == {"outcome.certify"}
    assert listed(admin_client, action="area:courses") == {"course.update"}
    assert listed(admin_client, action="area:schedule") == {"window.open"}


def test_filter_by_date_inclusive_in_taipei(log, admin_client):
    today = timezone.localdate()
    assert listed(admin_client, date_from=(today - dt.timedelta(days=10)).isoformat()) == {
        "outcome.certify",
        "course.update",
        "window.open",
    }
    assert listed(admin_client, date_to=(today - dt.timedelta(days=20)).isoformat()) == {
        "member.update",
        "retired.action",
    }


@pytest.mark.parametrize(
    "params",
    [
        {"who": "x" * 10_000},
        {"who": "\x1b[31m\u202e"},
        {"action": "²"},
        {"action": "area:" + "9" * 25},
        {"by": "-1"},
        {"date_from": "２０２６-01-01"},
        {"date_to": "9999-12-31"},
        {"date_from": "0001-01-01", "date_to": "0001-01-01"},
        {"page": "9" * 5000},
    ],
)
def test_bad_filter_values_give_the_page_not_an_error(log, admin_client, params):
    response = admin_client.get(URL, params)
    assert response.status_code == 200


def test_the_export_follows_the_filters(log, admin_client):
    response = admin_client.get(URL, {"who": "tina", "export": "xlsx"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    codes = [row[3] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert sorted(codes) == ["course.update", "outcome.certify"]


def test_only_the_school_administrator_reads_it(log, school, make_member):
    for role in (Role.REGISTRY, Role.TEACHER, Role.STUDENT):
        assert client_for(make_member(school, role)).get(URL).status_code == 403


def test_the_page_costs_the_same_queries_with_many_entries(
    school, admin, admin_client, django_assert_max_num_queries
):
    for n in range(120):
        audit_write(school=school, by=None, action="window.open", changes={"n": n})
    with django_assert_max_num_queries(12):
        response = admin_client.get(URL)
    assert len(response.context["rows"]) == 50
    assert reverse("portal:audit") == URL
