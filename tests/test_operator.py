"""The platform operator: schools created with their first administrator (pages, service and
command, idempotent), suspended and resumed, and each school's size; nobody else reaches it."""

import datetime as dt
from io import StringIO

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.translation import gettext

from accounts import acting, platform
from accounts import services as account_services
from accounts.models import Division, Membership, Role, User
from portal.operator import schools_with_sizes, size_of
from portfolio.audit import action_label
from portfolio.models import AuditLog, School, Term
from records.models import Student
from submissions.models import Performance, PerformanceCategory
from tests.builders.operator import mailed_link, make_operator, operator_client
from tests.builders.people import PASSWORD, client_for, english, make_school_with_year
from tests.matrix import outcome_for_matrix

NEW = {
    "code": "200001",
    "name": "新設高中",
    "name_en": "New Senior High",
    "continuing": False,
    "admin_email": "head@new.example.edu.tw",
}


def _create(by=None, **changes):
    return platform.school_create(by=by, **{**NEW, **changes})


def _zh(message: str, **params) -> str:
    with translation.override("zh-hant"):
        text = gettext(message)
    return text % params if params else text


@pytest.fixture
def operator(db):
    return make_operator()


# --- the service ------------------------------------------------------------------------------


def test_a_school_is_created_with_its_first_administrator(
    operator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        done = _create(by=operator)
    assert done.school_created and done.account_created and done.admin_added and done.changed
    school = School.objects.get(code="200001")
    assert (school.name, school.name_en, school.has_continuing_division) == (
        "新設高中",
        "New Senior High",
        False,
    )
    admin = User.objects.get(email="head@new.example.edu.tw")
    assert not admin.has_usable_password()
    assert (
        Membership.objects.active()
        .filter(user=admin, school=school, role=Role.SCHOOL_ADMIN)
        .exists()
    )
    rows = AuditLog.objects.filter(school=school)
    assert sorted(rows.values_list("action", flat=True)) == [
        "member.create",
        "school.admin_invite",
        "school.create",
    ]
    assert set(rows.values_list("actor", flat=True)) == {operator.pk}
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["head@new.example.edu.tw"]
    assert "新設高中" in message.subject
    assert message.alternatives and "/accounts/password/reset/key/" in message.alternatives[0][0]
    assert "/accounts/password/reset/key/" in mailed_link("head@new.example.edu.tw")


def test_the_mailed_link_sets_a_password_once_and_the_administrator_signs_in(
    operator, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "http://testserver"
    with django_capture_on_commit_callbacks(execute=True):
        _create(by=operator)
    link = mailed_link("head@new.example.edu.tw").removeprefix("http://testserver")
    browser = Client()
    form_page = browser.get(link, follow=True)
    assert form_page.status_code == 200
    set_password_url = form_page.redirect_chain[-1][0]
    new_password = "Fresh-admin-password-9"
    done = browser.post(set_password_url, {"password1": new_password, "password2": new_password})
    assert done.status_code == 302
    admin = User.objects.get(email="head@new.example.edu.tw")
    assert admin.check_password(new_password)

    again = Client().get(link, follow=True)
    assert again.status_code == 200
    assert b'name="password1"' not in again.content  # a used link sets nothing

    signed_in = Client()
    response = signed_in.post(
        "/accounts/login/", {"login": "head@new.example.edu.tw", "password": new_password}
    )
    assert response.status_code == 302
    home = signed_in.get("/")
    assert home.status_code == 200
    assert home.context["acting"].school.code == "200001"
    assert home.context["acting"].role == Role.SCHOOL_ADMIN
    assert signed_in.get("/manage/schedule/years/add/").status_code == 200


def test_the_same_arguments_again_change_nothing(operator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _create(by=operator)
    audited = AuditLog.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        again = _create(by=operator)
    assert not again.changed
    assert not (again.school_created or again.account_created or again.admin_added)
    assert AuditLog.objects.count() == audited
    assert len(mail.outbox) == 1
    assert School.objects.filter(code="200001").count() == 1
    assert User.objects.filter(email__iexact="head@new.example.edu.tw").count() == 1


def test_another_name_for_an_existing_code_is_refused_not_changed(operator):
    _create(by=operator)
    with pytest.raises(ValidationError) as refused:
        _create(by=operator, name="改名高中")
    assert list(refused.value.message_dict) == ["name"]
    assert "新設高中" in refused.value.message_dict["name"][0]
    with pytest.raises(ValidationError) as refused:
        _create(by=operator, continuing=True)
    assert list(refused.value.message_dict) == ["continuing"]
    assert School.objects.get(code="200001").name == "新設高中"
    assert not School.objects.get(code="200001").has_continuing_division


def test_bad_code_name_and_address_are_refused_by_field(operator):
    with pytest.raises(ValidationError) as refused:
        _create(by=operator, code="12345", name=" ", admin_email="not-an-address")
    assert set(refused.value.message_dict) == {"code", "name", "admin_email"}
    assert not School.objects.filter(code="12345").exists()


def test_an_existing_account_gets_the_role_and_a_plain_sign_in_link(
    operator, school, make_member, django_capture_on_commit_callbacks
):
    teacher = make_member(school, Role.TEACHER, username="tim")
    teacher.user.email = "tim@school.example.edu.tw"
    teacher.user.save()
    with django_capture_on_commit_callbacks(execute=True):
        done = _create(by=operator, admin_email="TIM@school.example.edu.tw")
    assert done.admin == teacher.user and not done.account_created and done.admin_added
    assert Membership.objects.filter(
        user=teacher.user, school=done.school, role=Role.SCHOOL_ADMIN, is_active=True
    ).exists()
    assert mailed_link("tim@school.example.edu.tw").endswith("/accounts/login/")
    assert teacher.user.has_usable_password()
    assert {c.school.code for c in acting.contexts_for(teacher.user)} == {"123456", "200001"}


def test_a_switched_off_account_is_not_made_administrator(operator, school, make_member):
    member = make_member(school, Role.TEACHER)
    User.objects.filter(pk=member.user_id).update(email="off@example.edu.tw", is_active=False)
    with pytest.raises(ValidationError) as refused:
        _create(by=operator, admin_email="off@example.edu.tw")
    assert list(refused.value.message_dict) == ["admin_email"]
    assert not School.objects.filter(code="200001").exists()  # all or nothing


def test_a_new_username_never_takes_anothers(operator, school, make_member):
    make_member(school, Role.TEACHER, username="head@new.example.edu.tw")
    done = _create(by=operator)
    assert done.admin.username == "head@new.example.edu.tw-2"


def test_suspend_and_resume_are_audited_and_need_a_reason(operator, school):
    with pytest.raises(ValidationError) as refused:
        platform.school_suspend(school=school, reason="  ", by=operator)
    assert list(refused.value.message_dict) == ["reason"]
    platform.school_suspend(school=school, reason="合約到期", by=operator)
    school.refresh_from_db()
    assert school.is_suspended and school.suspended_reason == "合約到期"
    with pytest.raises(ValidationError):
        platform.school_suspend(school=school, reason="again", by=operator)
    platform.school_resume(school=school, by=operator)
    school.refresh_from_db()
    assert not school.is_suspended and school.suspended_reason == ""
    with pytest.raises(ValidationError):
        platform.school_resume(school=school, by=operator)
    entries = list(
        AuditLog.objects.filter(school=school, action__startswith="school.s").order_by("id")
    )
    assert [(e.action, e.actor_id) for e in entries] == [("school.suspend", operator.pk)]
    resume = AuditLog.objects.get(school=school, action="school.resume")
    assert resume.actor_id == operator.pk and resume.changes["reason"] == "合約到期"
    for code in ("school.suspend", "school.resume", "school.admin_invite"):
        assert action_label(code) != code


# --- sizes ------------------------------------------------------------------------------------


def test_sizes_count_students_items_bytes_and_the_last_activity(
    school, other_school, current_roc_year, make_member
):
    term = Term.objects.get(school=school, school_year__roc_year=current_roc_year, number=1)
    outcome = outcome_for_matrix({"school": school, "term": term}, key="a", state="draft")
    Student.objects.create(school=school, student_number="A0002", name="第二生")
    Performance.objects.create(
        school=school,
        student=outcome.student,
        school_year=term.school_year,
        category=PerformanceCategory.OTHER,
        name="志工",
    )
    signed = make_member(school, Role.TEACHER)
    late = timezone.now() + dt.timedelta(days=3)
    User.objects.filter(pk=signed.user_id).update(last_login=late)

    sizes = {s.code: size_of(s) for s in schools_with_sizes()}
    mine, theirs = sizes["123456"], sizes["654321"]
    assert (mine.students, mine.items, mine.stored_bytes) == (2, 2, 1000)
    assert mine.last_activity == late
    assert (theirs.students, theirs.items, theirs.stored_bytes) == (0, 0, 0)
    latest_audit = AuditLog.objects.filter(school=other_school).latest("created_at").created_at
    assert theirs.last_activity == latest_audit


def test_sizes_of_a_school_with_nothing(db):
    School.objects.create(code="300003", name="空校")
    empty = size_of(schools_with_sizes().get(code="300003"))
    assert (empty.students, empty.items, empty.stored_bytes, empty.last_activity) == (
        0,
        0,
        0,
        None,
    )


# --- the pages --------------------------------------------------------------------------------

# (method, url, the operator's status): a suspension without a reason shows the form again,
# resuming a school in service says so on the school's page.
PAGES = [
    ("get", "/operator/", 200),
    ("get", "/operator/schools/add/", 200),
    ("get", "/operator/schools/123456/", 200),
    ("post", "/operator/schools/123456/suspend/", 200),
    ("post", "/operator/schools/123456/resume/", 302),
]


@pytest.mark.parametrize(("method", "url", "status"), PAGES)
def test_only_the_operator_reaches_the_pages(method, url, status, school, make_member, operator):
    admin = client_for(make_member(school, Role.SCHOOL_ADMIN))
    student = client_for(make_member(school, Role.STUDENT))
    anonymous = getattr(Client(), method)(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert getattr(admin, method)(url).status_code == 403
    assert getattr(student, method)(url).status_code == 403
    assert getattr(operator_client(operator), method)(url).status_code == status
    assert not School.objects.get(code="123456").is_suspended  # no reason given: refused


def test_the_invite_button_only_for_the_operator(
    school, make_member, operator, django_capture_on_commit_callbacks
):
    admin = make_member(school, Role.SCHOOL_ADMIN, username="ada")
    User.objects.filter(pk=admin.user_id).update(email="ada@school.example.edu.tw")
    url = f"/operator/schools/123456/admins/{admin.user_id}/invite/"
    assert client_for(admin).post(url).status_code == 403
    assert Client().post(url).status_code == 302
    teacher = make_member(school, Role.TEACHER)
    client = operator_client(operator)
    assert client.post(
        f"/operator/schools/123456/admins/{teacher.user_id}/invite/"
    ).status_code == (404)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)
    assert response.status_code == 302
    assert mailed_link("ada@school.example.edu.tw").endswith("/accounts/login/")
    assert AuditLog.objects.filter(
        school=school, action="school.admin_invite", actor=operator
    ).exists()


def test_the_list_shows_each_school_and_stays_flat_in_queries(operator, current_roc_year):
    client = operator_client(operator)
    make_school_with_year("400001", "甲校", current_roc_year)
    client.get("/operator/")
    with CaptureQueriesContext(connection) as few:
        first = client.get("/operator/")
    for n in range(2, 8):
        make_school_with_year(f"40000{n}", f"校{n}", current_roc_year)
    with CaptureQueriesContext(connection) as many:
        page = client.get("/operator/")
    assert first.status_code == page.status_code == 200
    assert len(many) == len(few) <= 4  # session, user, count, the page of schools
    assert len(page.context["rows"]) == 7
    assert "400007" in page.content.decode()


def test_create_school_page_ties_errors_to_fields_in_both_languages(operator):
    client = operator_client(operator)
    data = {"code": "12a", "name": "", "admin_email": "nope"}
    chinese = client.post("/operator/schools/add/", data).content.decode()
    assert (
        'id="id_code_error"' in chinese
        and 'aria-describedby="id_code_helptext id_code_error"' in chinese
    )
    assert _zh("A school code is 6 digits.") in chinese
    assert 'id="id_admin_email_error"' in chinese and 'id="id_name_error"' in chinese
    english_page = english(client).post("/operator/schools/add/", data).content.decode()
    assert "A school code is 6 digits." in english_page
    assert "Enter a valid email address." in english_page
    assert not School.objects.filter(code="12a").exists()


def test_create_school_page_refuses_another_name_by_its_field(operator, school):
    client = english(operator_client(operator))
    page = client.post(
        "/operator/schools/add/",
        {"code": "123456", "name": "別名", "admin_email": "x@example.edu.tw"},
    ).content.decode()
    assert 'id="id_name_error"' in page
    assert "School 123456 already exists under another name: 測試高中." in page
    assert School.objects.get(code="123456").name == "測試高中"


def test_create_school_page_creates_and_mails(operator, django_capture_on_commit_callbacks):
    client = english(operator_client(operator))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/operator/schools/add/",
            {**NEW, "continuing": "on"},
            follow=True,
        )
    assert response.redirect_chain[-1][0] == "/operator/schools/200001/"
    page = response.content.decode()
    assert "a sign-in link was sent to head@new.example.edu.tw" in page
    assert "never signed in" in page
    assert School.objects.get(code="200001").has_continuing_division
    assert "/accounts/password/reset/key/" in mailed_link("head@new.example.edu.tw")
    again = client.post("/operator/schools/add/", {**NEW, "continuing": "on"}, follow=True)
    assert "nothing changed" in again.content.decode()
    assert len(mail.outbox) == 1


def test_suspend_needs_a_reason_on_the_page(operator, school):
    client = english(operator_client(operator))
    page = client.post("/operator/schools/123456/suspend/", {"reason": ""})
    assert page.status_code == 200
    assert 'id="id_reason_error"' in page.content.decode()
    assert "Give the reason for the suspension." in page.content.decode()
    assert not School.objects.get(pk=school.pk).is_suspended
    done = client.post("/operator/schools/123456/suspend/", {"reason": "欠費"}, follow=True)
    assert School.objects.get(pk=school.pk).is_suspended
    assert "欠費" in done.content.decode() and "Resume the school" in done.content.decode()
    client.post("/operator/schools/123456/resume/")
    assert not School.objects.get(pk=school.pk).is_suspended


def test_unknown_school_is_404_for_the_operator(operator):
    assert operator_client(operator).get("/operator/schools/999999/").status_code == 404


# --- what suspension does to the school's members ---------------------------------------------


def test_a_suspended_schools_teacher_is_refused_and_resuming_restores_at_once(
    operator, school, make_member
):
    teacher = make_member(school, Role.TEACHER)
    admin = make_member(school, Role.SCHOOL_ADMIN, username="ada")
    User.objects.filter(pk=admin.user_id).update(email="ada@school.example.edu.tw", name="林管理")
    client = english(client_for(teacher))
    assert client.get("/certification/").status_code == 200

    platform.school_suspend(school=school, reason="合約到期", by=operator)
    refused = client.get("/certification/")
    assert refused.status_code == 403
    page = refused.content.decode()
    assert "This school's account is suspended" in page
    assert "林管理" in page and "ada@school.example.edu.tw" in page
    assert "合約到期" not in page  # the reason is for the school's administrators
    assert client.get("/").status_code == 403
    assert client.get("/switch/").status_code == 403
    assert acting.contexts_for(teacher.user) == []
    assert client.post("/accounts/logout/").status_code == 302  # signing out still works

    admin_page = english(client_for(admin)).get("/manage/members/").content.decode()
    assert "合約到期" in admin_page and operator.email in admin_page

    platform.school_resume(school=school, by=operator)
    again = english(client_for(teacher))
    assert again.get("/certification/").status_code == 200


def test_the_suspended_page_speaks_chinese_by_default(operator, school, make_member):
    teacher = make_member(school, Role.TEACHER)
    platform.school_suspend(school=school, reason="x", by=operator)
    page = client_for(teacher).get("/").content.decode()
    assert _zh("This school's account is suspended") in page
    assert 'lang="zh-Hant-TW"' in page


def test_a_member_of_another_school_still_acts_there(operator, school, other_school, make_member):
    member = make_member(school, Role.TEACHER)
    account_services.membership_add(
        school=other_school, user=member.user, role=Role.TEACHER, division=Division.DAY, by=None
    )
    platform.school_suspend(school=school, reason="x", by=operator)
    client = client_for(member)  # its session still names the suspended school
    response = client.get("/", follow=True)
    assert response.status_code == 200
    assert response.context["acting"].school == other_school


def test_other_schools_are_untouched(operator, school, other_school, make_member):
    outsider = client_for(make_member(other_school, Role.TEACHER))
    platform.school_suspend(school=school, reason="x", by=operator)
    assert outsider.get("/certification/").status_code == 200


# --- home and header --------------------------------------------------------------------------


def test_an_operator_with_no_school_lands_on_the_operator_pages(operator):
    client = Client()
    response = client.post("/accounts/login/", {"login": operator.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").url == "/operator/"
    page = client.get("/operator/").content.decode()
    assert 'href="/operator/"' in page


def test_the_header_link_only_for_superusers(school, make_member, operator):
    member = make_member(school, Role.SCHOOL_ADMIN)
    assert 'href="/operator/"' not in client_for(member).get("/").content.decode()
    account_services.membership_add(
        school=school, user=operator, role=Role.TEACHER, division=Division.DAY, by=None
    )
    page = operator_client(operator).get("/", follow=True)
    assert page.status_code == 200 and page.context["acting"] is not None
    assert 'href="/operator/"' in page.content.decode()


# --- the command ------------------------------------------------------------------------------


def _command(*args) -> str:
    out = StringIO()
    with translation.override("en"):
        call_command("school_create", *args, stdout=out)
    return out.getvalue()


FULL = (
    "200001",
    "新設高中",
    "--admin",
    "head@new.example.edu.tw",
    "--name-en",
    "New",
    "--continuing",
)


def test_the_command_creates_then_says_it_is_there(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = _command(*FULL)
    assert "created: school 200001 新設高中" in first
    assert "created: account head@new.example.edu.tw" in first
    school = School.objects.get(code="200001")
    assert school.name_en == "New" and school.has_continuing_division
    assert "/accounts/password/reset/key/" in mailed_link("head@new.example.edu.tw")
    audited = AuditLog.objects.filter(school=school)
    assert audited.filter(action="school.create", actor__isnull=True).exists()
    count = audited.count()
    again = _command(*FULL)
    assert "already there: school 200001" in again
    assert "already there: head@new.example.edu.tw is an administrator of 200001" in again
    assert AuditLog.objects.filter(school=school).count() == count
    assert len(mail.outbox) == 1


def test_the_command_refuses_bad_input_clearly(db):
    _command("200001", "新設高中", "--admin", "head@new.example.edu.tw")
    with pytest.raises(CommandError, match="another name: 新設高中"):
        _command("200001", "別的高中", "--admin", "head@new.example.edu.tw")
    with pytest.raises(CommandError, match="code: A school code is 6 digits.") as refused:
        _command("2001", "新設高中", "--admin", "head@new.example.edu.tw")
    assert refused.value.returncode != 0  # manage.py exits with it
    with pytest.raises(CommandError, match="admin_email"):
        _command("200002", "新設高中", "--admin", "nobody")
    assert School.objects.get(code="200001").name == "新設高中"
    assert not School.objects.filter(code="200002").exists()


# --- the school's own sign-in provider, set on the operator's pages -------------------------


def test_the_operator_sets_up_the_schools_sign_in_and_the_same_again_changes_nothing(
    school, operator, tmp_path
):
    from accounts.models import SignInProvider

    secret = tmp_path / "signin-secret"
    secret.write_text("s3cret\n")
    client = english(operator_client(operator))
    url = f"/operator/schools/{school.code}/signin/"
    page = client.get(url).content.decode()
    assert "/accounts/oidc/school-123456/login/callback/" in page
    form = {
        "kind": "oidc", "issuer": "https://cloud.example.edu.tw", "client_id": "platform",
        "secret_file": str(secret), "secret_env": "", "email_domains": "mail.example.edu.tw",
        "label_zh": "教育雲", "label_en": "Education cloud", "enabled": "on",
    }  # fmt: skip
    response = client.post(url, form, follow=True)
    assert "The sign-in with the accounts of" in response.content.decode()
    row = SignInProvider.objects.get(school=school)
    assert (row.issuer, row.client_id, row.email_domains) == (
        "https://cloud.example.edu.tw", "platform", ["mail.example.edu.tw"]
    )  # fmt: skip
    assert "s3cret" not in str(AuditLog.objects.get(action="signin.configure").changes)
    school_page = response.content.decode()
    assert "https://cloud.example.edu.tw" in school_page and "mail.example.edu.tw" in school_page

    again = client.post(url, form, follow=True)
    assert "Nothing changed." in again.content.decode()
    assert AuditLog.objects.filter(action="signin.configure").count() == 1


def test_a_provider_the_platform_could_not_use_is_refused_field_by_field(school, operator):
    import re

    from accounts.models import SignInProvider

    client = english(operator_client(operator))
    good = {"kind": "oidc", "issuer": "https://cloud.example.edu.tw", "client_id": "platform",
            "secret_env": "SIGNIN_SECRET", "email_domains": "mail.example.edu.tw"}  # fmt: skip
    for field, wrong, said in (
        ("email_domains", "not a domain", "Not a domain: not, a, domain."),
        ("issuer", "http://cloud.example.edu.tw", "The issuer must be reached over https."),
    ):
        response = client.post(f"/operator/schools/{school.code}/signin/", {**good, field: wrong})
        page = response.content.decode()
        assert response.status_code == 200
        described = re.search(rf'<input[^>]*name="{field}"[^>]*aria-describedby="([^"]+)"', page)
        assert described, field
        error_id = next(i for i in described.group(1).split() if "error" in i)
        assert re.search(rf'id="{error_id}"[^>]*>(<[^>]+>)*{re.escape(said)}', page), field
    assert not SignInProvider.objects.exists()
