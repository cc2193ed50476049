"""Sign-in with the school's own accounts (issue 14): the whole OpenID Connect flow against a
local issuer over real HTTP (tests/builders/oidc.py), allauth and its HTTP calls included.

A member signs in only with a verified e-mail address of the school's domains that is the
address of an active member of the provider's school; every refusal says why in the reader's
language and writes no user; password sign-in is what it was.
"""

import io
import json

import pytest
from allauth.socialaccount.models import SocialAccount
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from accounts import services as account_services
from accounts import signin
from accounts.models import Role, SignInKind, SignInProvider, User
from portfolio.models import AuditLog
from tests.builders.oidc import Issuer, Person, serving, sign_in_through
from tests.builders.people import PASSWORD, english

CLIENT_ID = "portfolio-123456"
CLIENT_SECRET = "issuer-client-secret"
DOMAIN = "school.example.edu.tw"
EMAIL = f"s1100001@{DOMAIN}"


@pytest.fixture
def issuer():
    issuer = Issuer(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    with serving(issuer):
        yield issuer


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "client-secret"
    path.write_text(CLIENT_SECRET + "\n")
    return path


def configure(code: str, *args: str) -> str:
    """The command's output, in English (it speaks the site's language, Chinese)."""
    out = io.StringIO()
    with translation.override("en"):
        call_command("school_signin", code, *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def provider(school, issuer, secret_file) -> SignInProvider:
    configure(
        school.code,
        "--kind=oidc",
        f"--issuer={issuer.url}",
        f"--client-id={CLIENT_ID}",
        f"--secret-file={secret_file}",
        f"--domains={DOMAIN},alumni.example.edu.tw",
        "--label-zh=以教育雲帳號登入",
        "--label-en=Sign in with the education cloud",
    )
    return SignInProvider.objects.get(school=school)


def member(school, role, username: str, email: str):
    return account_services.member_create(
        school=school,
        username=username,
        name=username,
        email=email,
        password=PASSWORD,
        role=role,
        division="day",
        by=None,
    )


@pytest.fixture
def student(school):
    return member(school, Role.STUDENT, "s1100001", EMAIL)


def signed_in_as(client: Client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value else None


def refusal(reason: signin.Reason, school, email: str, language: str) -> str:
    """The refusal's words in ``language``, as a page shows them (HTML-escaped)."""
    with translation.override(language):
        return escape(signin.Refused(reason, school=school, email=email).message(language))


# --- Signing in ---------------------------------------------------------------------------


def test_a_student_on_the_roster_signs_in_and_acts_as_that_student(
    provider, issuer, student, client
):
    users_before = User.objects.count()
    # The provider spells the address its own way: matched without regard to case.
    issuer.person = Person(sub="cloud-4711", email=EMAIL.upper())

    response = sign_in_through(client, issuer, provider.school.code)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == reverse("home")
    assert signed_in_as(client) == student.user_id
    assert User.objects.count() == users_before
    account = SocialAccount.objects.get()
    assert (account.provider, account.uid, account.user_id) == (
        "school-123456",
        "cloud-4711",
        student.user_id,
    )
    # allauth fetched the token over HTTP with the client secret from the file and PKCE.
    assert issuer.refusals == []
    (token_request,) = issuer.token_requests
    assert token_request["client_secret"] == CLIENT_SECRET
    assert len(token_request["code_verifier"]) >= 43

    home = english(client).get(reverse("home"))
    assert home.status_code == 200
    assert home.wsgi_request.acting.membership == student
    assert "Student" in home.content.decode()


def test_a_linked_student_signs_in_again_and_a_switched_off_one_no_longer(
    provider, issuer, student
):
    issuer.person = Person(sub="cloud-4711", email=EMAIL)
    assert sign_in_through(Client(), issuer, provider.school.code).status_code == 302

    again = Client()
    assert sign_in_through(again, issuer, provider.school.code).status_code == 302
    assert signed_in_as(again) == student.user_id
    assert SocialAccount.objects.count() == 1

    account_services.membership_set_active(membership=student, active=False, by=None)
    refused = english(Client())
    response = sign_in_through(refused, issuer, provider.school.code)
    assert response.status_code == 403
    assert refusal(signin.Reason.NOT_ON_ROSTER, provider.school, EMAIL, "en") in (
        response.content.decode()
    )
    assert signed_in_as(refused) is None


def test_an_identity_linked_to_one_member_does_not_sign_in_as_another(
    provider, issuer, student, school
):
    issuer.person = Person(sub="cloud-4711", email=EMAIL)
    assert sign_in_through(Client(), issuer, school.code).status_code == 302
    # The administrator gives the address to someone else.
    User.objects.filter(pk=student.user_id).update(email=f"old-{EMAIL}")
    member(school, Role.STUDENT, "s1100002", EMAIL)

    client = english(Client())
    response = sign_in_through(client, issuer, school.code)

    assert response.status_code == 403
    assert refusal(signin.Reason.LINKED_ELSEWHERE, school, EMAIL, "en") in (
        response.content.decode()
    )
    assert signed_in_as(client) is None


# --- Refusals -----------------------------------------------------------------------------


def test_an_unverified_address_is_refused(provider, issuer, student):
    users_before = User.objects.count()
    issuer.person = Person(sub="cloud-1", email=EMAIL, email_verified=False)
    client = english(Client())

    response = sign_in_through(client, issuer, provider.school.code)

    assert response.status_code == 403
    assert refusal(signin.Reason.UNVERIFIED, None, "", "en") in response.content.decode()
    assert User.objects.count() == users_before
    assert not SocialAccount.objects.exists()
    assert signed_in_as(client) is None


def test_a_member_of_another_school_is_refused(provider, issuer, other_school):
    outsider = f"s9@{DOMAIN}"
    member(other_school, Role.STUDENT, "s9-other", outsider)
    users_before = User.objects.count()
    issuer.person = Person(sub="cloud-9", email=outsider)
    client = english(Client())

    response = sign_in_through(client, issuer, provider.school.code)

    assert response.status_code == 403
    assert refusal(signin.Reason.NOT_ON_ROSTER, provider.school, outsider, "en") in (
        response.content.decode()
    )
    assert User.objects.count() == users_before
    assert not SocialAccount.objects.exists()
    assert signed_in_as(client) is None


@pytest.mark.parametrize("language", ["en", "zh-hant"])
def test_an_address_not_on_the_roster_is_told_whom_to_ask(provider, issuer, student, language):
    unknown = f"newcomer@{DOMAIN}"
    users_before = User.objects.count()
    issuer.person = Person(sub="cloud-2", email=unknown)
    client = english(Client()) if language == "en" else Client()

    response = sign_in_through(client, issuer, provider.school.code)

    page = response.content.decode()
    assert response.status_code == 403
    expected = refusal(signin.Reason.NOT_ON_ROSTER, provider.school, unknown, language)
    assert expected in page
    assert unknown in expected and provider.school.name in expected
    said = {
        "en": f"{unknown} is not on {provider.school.name}'s list of members. Students: ask the "
        "registry office",
        "zh-hant": f"{unknown} 不在{provider.school.name}的成員名單上。學生請洽註冊組",
    }[language]
    assert said in page.replace("&#x27;", "'")
    assert ('lang="en"' if language == "en" else 'lang="zh-Hant-TW"') in page
    assert User.objects.count() == users_before
    assert not SocialAccount.objects.exists()
    assert signed_in_as(client) is None


def test_an_address_outside_the_schools_domains_is_refused(provider, issuer, school):
    personal = "student@gmail.example.com"
    member(school, Role.STUDENT, "s-personal", personal)  # on the roster, but not a school address
    users_before = User.objects.count()
    issuer.person = Person(sub="cloud-3", email=personal)
    client = english(Client())

    response = sign_in_through(client, issuer, school.code)

    assert response.status_code == 403
    assert refusal(signin.Reason.DOMAIN, school, personal, "en") in response.content.decode()
    assert User.objects.count() == users_before
    assert not SocialAccount.objects.exists()
    assert signed_in_as(client) is None


def test_a_wrong_client_secret_fails_without_signing_in(provider, issuer, student, secret_file):
    secret_file.write_text("not-the-secret")
    issuer.person = Person(sub="cloud-4711", email=EMAIL)
    client = Client()

    response = sign_in_through(client, issuer, provider.school.code)

    assert response.status_code == 401
    with translation.override("zh-hant"):
        said = translation.gettext("Signing in with your school's account did not work")
    assert said in response.content.decode()
    assert issuer.refusals == ["client authentication failed"]
    assert signed_in_as(client) is None
    assert not SocialAccount.objects.exists()


# --- What the sign-in page offers ---------------------------------------------------------


def test_the_sign_in_page_offers_the_schools_with_a_provider_and_their_origin(
    provider, issuer, client
):
    page = client.get(reverse("account_login"))
    html = page.content.decode()
    assert 'name="school"' in html and provider.school.code in html
    assert "以教育雲帳號登入" in html
    # Browsers hold a form's redirect to the form-action policy: the issuer is allowed.
    policy = page["Content-Security-Policy"]
    form_action = next(d for d in policy.split(";") if d.strip().startswith("form-action"))
    assert issuer.url in form_action and "'self'" in form_action


def test_allauths_own_page_for_the_provider_leads_there_too(provider, issuer, client):
    login_url = reverse("openid_connect_login", kwargs={"provider_id": provider.provider_id})
    page = client.get(login_url)
    assert page.status_code == 200
    assert issuer.url in page["Content-Security-Policy"]
    started = client.post(login_url)
    assert started.status_code == 302
    assert started["Location"].startswith(f"{issuer.url}/authorize?")
    assert "code_challenge_method=S256" in started["Location"]


def test_a_disabled_provider_is_not_offered(provider, issuer, student, other_school, tmp_path):
    configure(provider.school.code, "--disable")
    client = Client()

    assert 'name="school"' not in client.get(reverse("account_login")).content.decode()
    assert client.post(reverse("accounts:school_signin"), {"school": "123456"}).status_code == 404
    login_url = reverse("openid_connect_login", kwargs={"provider_id": "school-123456"})
    assert client.post(login_url).status_code == 404

    # Another school's provider on: the disabled one is still not among the choices.
    secret = tmp_path / "other-secret"
    secret.write_text("other")
    configure(
        other_school.code,
        "--kind=google",
        "--client-id=other.apps.googleusercontent.com",
        f"--secret-file={secret}",
        "--domains=other.example.edu.tw",
    )
    html = client.get(reverse("account_login")).content.decode()
    assert f'value="{other_school.code}"' in html and 'value="123456"' not in html
    refused = english(client).post(reverse("accounts:school_signin"), {"school": "123456"})
    assert refused.status_code == 400
    assert "Select a valid choice" in refused.content.decode()
    assert not issuer.token_requests


def test_password_sign_in_is_unchanged_for_a_school_without_a_provider(
    provider, other_school, client
):
    teacher = member(other_school, Role.TEACHER, "t-other", "t@other.example.edu.tw")
    response = client.post(reverse("account_login"), {"login": "t-other", "password": PASSWORD})
    assert response.status_code == 302
    assert signed_in_as(client) == teacher.user_id
    assert not SocialAccount.objects.exists()


def test_without_any_provider_the_sign_in_page_is_as_before(school, client):
    html = client.get(reverse("account_login")).content.decode()
    assert 'name="school"' not in html
    assert client.get(reverse("accounts:school_signin")).status_code == 404


# --- Configuration ------------------------------------------------------------------------


def test_the_command_is_idempotent_and_audited(provider, issuer, secret_file, school):
    again = configure(
        school.code,
        "--kind=oidc",
        f"--issuer={issuer.url}/",
        f"--client-id={CLIENT_ID}",
        f"--secret-file={secret_file}",
        f"--domains=alumni.example.edu.tw, {DOMAIN.upper()}",
        "--label-zh=以教育雲帳號登入",
        "--label-en=Sign in with the education cloud",
    )
    assert again.startswith("unchanged: school 123456")
    assert configure(school.code).startswith("unchanged")
    assert AuditLog.objects.filter(action="signin.configure").count() == 1

    changed = configure(school.code, "--domains=new.example.edu.tw")
    assert changed.startswith("set: school 123456")
    provider.refresh_from_db()
    assert provider.email_domains == ["new.example.edu.tw"]
    assert provider.issuer == issuer.url and provider.secret_file == str(secret_file)
    entry = AuditLog.objects.filter(action="signin.configure").latest("pk")
    assert entry.changes == {
        "email_domains": [["alumni.example.edu.tw", DOMAIN], ["new.example.edu.tw"]]
    }
    assert CLIENT_SECRET not in json.dumps(list(AuditLog.objects.values_list("changes")))


def test_the_command_refuses_what_would_not_work(school, tmp_path, monkeypatch):
    with pytest.raises(CommandError, match="issuer"):
        configure(
            school.code,
            "--kind=oidc",
            "--issuer=http://issuer.example.edu.tw",
            "--client-id=x",
            "--secret-env=SIGNIN_TEST_SECRET",
            "--domains=example.edu.tw",
        )
    with pytest.raises(CommandError, match="secret_file"):
        configure(
            school.code,
            "--kind=google",
            "--client-id=x",
            f"--secret-file={tmp_path / 'missing'}",
            "--domains=example.edu.tw",
        )
    with pytest.raises(CommandError, match="email_domains"):
        monkeypatch.setenv("SIGNIN_TEST_SECRET", "s")
        configure(
            school.code, "--kind=google", "--client-id=x", "--secret-env=SIGNIN_TEST_SECRET",
            "--domains=not a domain!",
        )  # fmt: skip
    with pytest.raises(CommandError, match="No school"):
        configure("999999", "--disable")
    assert not SignInProvider.objects.exists()


def test_the_environment_configures_every_school(school, other_school, settings, monkeypatch):
    monkeypatch.setenv("SIGNIN_TEST_SECRET", "from-the-environment")
    settings.SCHOOL_SIGNIN = json.dumps(
        [
            {
                "school": school.code,
                "kind": "google",
                "client_id": "a.apps.googleusercontent.com",
                "secret_env": "SIGNIN_TEST_SECRET",
                "domains": ["a.example.edu.tw"],
            },
            {
                "school": other_school.code,
                "kind": "oidc",
                "issuer": "https://oidc.example.edu.tw",
                "client_id": "b",
                "secret_env": "SIGNIN_TEST_SECRET",
                "domains": "b.example.edu.tw",
                "enabled": False,
            },
        ]
    )
    call_command("school_signin", "--from-env", stdout=io.StringIO())
    call_command("school_signin", "--from-env", stdout=io.StringIO())

    google = SignInProvider.objects.get(school=school)
    assert (google.kind, google.issuer, google.enabled) == (
        SignInKind.GOOGLE,
        "https://accounts.google.com",
        True,
    )
    assert not SignInProvider.objects.get(school=other_school).enabled
    assert AuditLog.objects.filter(action="signin.configure").count() == 2
    (app,) = signin.apps()
    assert (app.provider_id, app.secret) == ("school-123456", "from-the-environment")
    assert app.settings["auth_params"]["hd"] == "a.example.edu.tw"


# --- Google's hosted domain, and answers that disagree ------------------------------------


def test_google_needs_the_schools_hosted_domain(school, student, monkeypatch):
    monkeypatch.setenv("SIGNIN_TEST_SECRET", "s")
    row, _changed = signin.signin_provider_save(
        school=school,
        data={
            "kind": SignInKind.GOOGLE,
            "issuer": "https://accounts.google.com",
            "client_id": "x",
            "secret_file": "",
            "secret_env": "SIGNIN_TEST_SECRET",
            "email_domains": [DOMAIN],
            "label_zh": "",
            "label_en": "",
            "enabled": True,
        },
        by=None,
    )
    claims = {"sub": "g1", "email": EMAIL, "email_verified": True}
    # A personal Google account can carry the school's address: no hd, refused.
    with pytest.raises(signin.Refused) as refused:
        signin.member_for(row, signin.identity_of({"id_token": claims}))
    assert refused.value.reason is signin.Reason.DOMAIN
    workspace = signin.identity_of({"id_token": {**claims, "hd": DOMAIN}})
    assert signin.member_for(row, workspace) == student.user


def test_user_info_about_someone_else_is_refused():
    with pytest.raises(signin.Refused) as refused:
        signin.identity_of({"id_token": {"sub": "a"}, "userinfo": {"sub": "b"}})
    assert refused.value.reason is signin.Reason.INCONSISTENT


@pytest.mark.parametrize("answer", ["down", "nonsense"])
def test_a_provider_that_is_down_or_answers_nonsense_is_said_not_a_500(
    provider, issuer, student, answer, caplog, monkeypatch
):
    if answer == "down":
        SignInProvider.objects.filter(pk=provider.pk).update(issuer="https://127.0.0.1:9")
    else:
        # A discovery document without the endpoints allauth needs.
        monkeypatch.setattr(issuer, "discovery", lambda: {"issuer": issuer.url})
    client = english(Client())
    url = reverse("openid_connect_login", kwargs={"provider_id": provider.provider_id})
    response = client.post(url)
    page = response.content.decode()
    assert response.status_code == 200
    assert "This school&#x27;s sign-in is not available right now." in page
    assert "school sign-in provider school-123456 unavailable" in caplog.text
    assert signed_in_as(client) is None
