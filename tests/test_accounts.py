"""Sign-in, picking a role, members and deputies, two-factor policy."""

import datetime as dt
import io

import pytest
from allauth.mfa.models import Authenticator
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts import acting
from accounts import services as account_services
from accounts.models import Division, Membership, Role, User
from portfolio import services
from portfolio.models import AuditLog, SchoolPolicy
from tests.builders.people import PASSWORD, client_for


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    cache.clear()


class TestSignIn:
    def test_username_sign_in_lands_on_the_role_home(self, school, make_member):
        make_member(school, Role.REGISTRY, username="reg")
        client = Client()
        response = client.post(
            reverse("account_login"), {"login": "reg", "password": PASSWORD}, follow=True
        )
        assert response.status_code == 200
        assert response.redirect_chain[-1][0] == reverse("home")
        assert response.context["acting"].role == Role.REGISTRY

    def test_email_sign_in(self, school):
        account_services.member_create(
            school=school,
            username="mail",
            name="Mail",
            email="mail@example.edu.tw",
            password=PASSWORD,
            role=Role.TEACHER,
            division=Division.DAY,
            by=None,
        )
        response = Client().post(
            reverse("account_login"), {"login": "MAIL@example.edu.tw", "password": PASSWORD}
        )
        assert response.status_code == 302

    def test_wrong_password_says_so(self, school, make_member):
        make_member(school, Role.REGISTRY, username="reg")
        response = Client().post(reverse("account_login"), {"login": "reg", "password": "wrong"})
        assert response.status_code == 200
        assert response.context["form"].errors

    def test_failed_sign_ins_are_rate_limited(self, school, make_member):
        make_member(school, Role.REGISTRY, username="reg")
        client = Client()
        for _ in range(5):
            client.post(reverse("account_login"), {"login": "reg", "password": "wrong"})
        # Even the right password is refused while the limit holds, with the reason.
        response = client.post(reverse("account_login"), {"login": "reg", "password": PASSWORD})
        assert response.status_code == 200
        assert "_auth_user_id" not in client.session
        assert "登入嘗試失敗次數過多" in str(response.context["form"].non_field_errors())

    def test_sign_up_is_closed(self, db):
        response = Client().post(
            reverse("account_signup"),
            {
                "username": "x",
                "email": "x@example.org",
                "password1": PASSWORD,
                "password2": PASSWORD,
            },
        )
        assert not User.objects.filter(username="x").exists()
        assert response.status_code == 200


class TestRolePicker:
    def test_several_roles_pick_one(self, school, other_school, make_member):
        first = make_member(school, Role.HOMEROOM, username="multi")
        account_services.membership_add(
            school=school, user=first.user, role=Role.TEACHER, division=Division.DAY, by=None
        )
        account_services.membership_add(
            school=other_school, user=first.user, role=Role.TEACHER, division=Division.DAY, by=None
        )
        client = Client()
        client.force_login(first.user)
        response = client.get(reverse("home"))
        assert response.status_code == 302 and reverse("accounts:switch") in response["Location"]
        page = client.get(response["Location"])
        choices = page.context["choices"]
        assert len(choices) == 3
        target = next(c for c in choices if c.school == other_school)
        response = client.post(reverse("accounts:switch"), {"context": target.key, "next": "/"})
        assert response.status_code == 302
        home = client.get(reverse("home"))
        assert home.context["acting"].school == other_school

    def test_forged_choice_is_refused(self, school, other_school, make_member):
        mine = make_member(school, Role.TEACHER)
        theirs = make_member(other_school, Role.SCHOOL_ADMIN)
        client = Client()
        client.force_login(mine.user)
        response = client.post(reverse("accounts:switch"), {"context": f"{theirs.pk}:"})
        assert response.status_code == 200
        assert client.session.get(acting.SESSION_KEY) is None

    def test_switched_off_role_stops_working_at_once(self, school, make_member, admin):
        member = make_member(school, Role.REGISTRY)
        client = client_for(member)
        assert client.get(reverse("home")).status_code == 200
        account_services.membership_set_active(membership=member, active=False, by=None)
        response = client.get(reverse("home"))
        assert response.status_code == 302
        assert client.get(response["Location"]).context["choices"] == []

    def test_next_must_stay_on_site(self, school, make_member):
        member = make_member(school, Role.TEACHER)
        client = Client()
        client.force_login(member.user)
        response = client.get(reverse("accounts:switch") + "?next=https://evil.example/")
        assert response["Location"] == reverse("home")


class TestDeputies:
    @pytest.fixture
    def deputyship(self, school, make_member):
        principal = make_member(school, Role.REGISTRY, username="principal")
        deputy = make_member(school, Role.CURRICULUM, username="deputy")
        today = timezone.localdate()
        record = account_services.deputy_create(
            school=school,
            role=Role.REGISTRY,
            division=Division.DAY,
            principal=principal.user,
            deputy=deputy.user,
            order=1,
            starts_on=today,
            ends_on=today + dt.timedelta(days=7),
            by=None,
        )
        return principal, deputy, record

    def test_deputy_acts_for_principal_and_is_audited_as_such(
        self, deputyship, school, current_roc_year
    ):
        principal, deputy, record = deputyship
        contexts = acting.contexts_for(deputy.user)
        as_deputy = next(c for c in contexts if c.deputy)
        assert as_deputy.role == Role.REGISTRY and as_deputy.on_behalf_of == principal.user
        term = school.terms.get(number=1, school_year__roc_year=current_roc_year)
        start = timezone.make_aware(dt.datetime.combine(term.starts_on, dt.time(8)))
        window = services.window_create(
            term=term,
            kind="submission",
            grade=None,
            starts_at=start,
            ends_at=start + dt.timedelta(days=5),
            by=as_deputy,
        )
        entry = AuditLog.objects.get(action="window.create", target_id=str(window.pk))
        assert entry.actor == deputy.user and entry.on_behalf_of == principal.user

    def test_deputyship_ends_with_its_dates(self, deputyship):
        _principal, deputy, record = deputyship
        client = Client()
        client.force_login(deputy.user)
        session = client.session
        session[acting.SESSION_KEY] = {
            "membership": Membership.objects.get(user=record.principal).pk,
            "deputy": record.pk,
        }
        session.save()
        assert client.get(reverse("home")).context["acting"].deputy == record
        record.ends_on = timezone.localdate() - dt.timedelta(days=1)
        record.starts_on = record.ends_on - dt.timedelta(days=3)
        record.save()
        # The deputyship is gone: the deputy is back in their own (only) role.
        context = client.get(reverse("home")).context["acting"]
        assert context.deputy is None and context.role == Role.CURRICULUM

    def test_deputy_rules(self, deputyship, school, make_member):
        principal, deputy, record = deputyship
        student = make_member(school, Role.STUDENT)
        with pytest.raises(Exception) as exc:
            account_services.deputy_create(
                school=school,
                role=Role.REGISTRY,
                division=Division.DAY,
                principal=principal.user,
                deputy=principal.user,
                order=1,
                starts_on=record.starts_on,
                ends_on=record.starts_on - dt.timedelta(days=1),
                by=None,
            )
        problems = exc.value.message_dict
        assert {"deputy", "order", "ends_on"} <= set(problems)
        with pytest.raises(Exception) as exc:
            account_services.deputy_create(
                school=school,
                role=Role.CURRICULUM,
                division=Division.DAY,
                principal=student.user,
                deputy=deputy.user,
                order=1,
                starts_on=record.starts_on,
                ends_on=record.ends_on,
                by=None,
            )
        assert "principal" in exc.value.message_dict

    def test_admin_manages_deputies_in_the_browser(self, admin_client, deputyship):
        principal, deputy, record = deputyship
        response = admin_client.get(reverse("accounts:deputies"))
        assert "principal" in response.content.decode()
        response = admin_client.post(
            reverse("accounts:deputy_add"),
            {
                "role": Role.REGISTRY,
                "division": Division.DAY,
                "principal": principal.user.pk,
                "deputy": deputy.user.pk,
                "order": 1,
                "starts_on": str(record.starts_on),
                "ends_on": str(record.ends_on),
            },
        )
        assert response.status_code == 200
        assert 'id="id_order_error"' in response.content.decode()
        response = admin_client.post(
            reverse("accounts:deputy_edit", args=[record.pk]),
            {
                "role": Role.REGISTRY,
                "division": Division.DAY,
                "principal": principal.user.pk,
                "deputy": deputy.user.pk,
                "order": 2,
                "starts_on": str(record.starts_on),
                "ends_on": str(record.ends_on),
            },
        )
        assert response.status_code == 302
        record.refresh_from_db()
        assert record.order == 2
        assert (
            admin_client.post(reverse("accounts:deputy_delete", args=[record.pk])).status_code
            == 302
        )


class TestMembers:
    def test_admin_creates_a_member_who_can_sign_in(self, admin_client, school):
        response = admin_client.post(
            reverse("accounts:member_add"),
            {
                "username": "newteacher",
                "name": "新老師",
                "email": "",
                "password": PASSWORD,
                "role": Role.TEACHER,
                "division": Division.CONTINUING,
            },
        )
        assert response.status_code == 302
        membership = Membership.objects.get(user__username="newteacher")
        assert membership.division == Division.CONTINUING and membership.school == school
        assert (
            Client()
            .post(reverse("account_login"), {"login": "newteacher", "password": PASSWORD})
            .status_code
            == 302
        )

    def test_bad_input_is_explained_by_field(self, admin_client, admin):
        response = admin_client.post(
            reverse("accounts:member_add"),
            {
                "username": "alice",
                "name": "x",
                "email": "",
                "password": "12345678",
                "role": Role.TEACHER,
                "division": Division.DAY,
            },
        )
        content = response.content.decode()
        assert response.status_code == 200
        assert 'id="id_username_error"' in content or 'id="id_password_error"' in content
        response = admin_client.post(
            reverse("accounts:member_add"),
            {
                "username": "fresh",
                "name": "x",
                "email": "",
                "password": "12345678",
                "role": Role.TEACHER,
                "division": Division.DAY,
            },
        )
        assert 'id="id_password_error"' in response.content.decode()
        assert not User.objects.filter(username="fresh").exists()

    def test_edit_profile_password_and_roles(self, admin_client, school, make_member):
        member = make_member(school, Role.TEACHER, username="bob")
        url = reverse("accounts:member_edit", args=[member.user_id])
        assert (
            admin_client.post(
                url, {"action": "profile", "name": "Bob 老師", "email": "bob@example.edu.tw"}
            ).status_code
            == 302
        )
        assert (
            admin_client.post(
                url, {"action": "password", "password": "another-Strong-pass-9"}
            ).status_code
            == 302
        )
        assert (
            admin_client.post(
                url, {"action": "role", "role": Role.HOMEROOM, "division": Division.DAY}
            ).status_code
            == 302
        )
        response = admin_client.post(
            url, {"action": "role", "role": Role.HOMEROOM, "division": Division.DAY}
        )
        assert response.status_code == 200 and 'id="id_role_error"' in response.content.decode()
        member.user.refresh_from_db()
        assert member.user.name == "Bob 老師" and member.user.check_password(
            "another-Strong-pass-9"
        )
        assert (
            admin_client.post(reverse("accounts:membership_toggle", args=[member.pk])).status_code
            == 302
        )
        member.refresh_from_db()
        assert not member.is_active

    def test_last_admin_cannot_be_switched_off(self, admin_client, admin):
        admin_client.post(reverse("accounts:membership_toggle", args=[admin.pk]))
        admin.refresh_from_db()
        assert admin.is_active

    def test_members_list_filters_and_keeps_queries_flat(
        self,
        admin_client,
        school,
        make_member,
        django_assert_num_queries,
        django_assert_max_num_queries,
    ):
        for _ in range(3):
            make_member(school, Role.STUDENT)
        url = reverse("accounts:members")
        with django_assert_max_num_queries(8) as first:
            admin_client.get(url)
        for _ in range(12):
            make_member(school, Role.TEACHER)
        with django_assert_num_queries(len(first.captured_queries)):
            response = admin_client.get(url)
        assert len(response.context["page"].object_list) == 16
        response = admin_client.get(url, {"role": Role.STUDENT})
        assert len(response.context["page"].object_list) == 3

    def test_members_of_another_school_are_invisible(self, admin_client, other_school, make_member):
        stranger = make_member(other_school, Role.TEACHER, username="stranger")
        response = admin_client.get(reverse("accounts:members"), {"q": "stranger"})
        assert list(response.context["page"].object_list) == []
        assert (
            admin_client.get(reverse("accounts:member_edit", args=[stranger.user_id])).status_code
            == 404
        )


class TestTwoFactorPolicy:
    @pytest.fixture
    def require_2fa(self, school, current_roc_year):
        policy = SchoolPolicy.objects.get(school=school, school_year__roc_year=current_roc_year)
        services.policy_update(policy=policy, data={"staff_require_2fa": True}, by=None)

    def test_staff_without_totp_are_sent_to_set_it_up(self, require_2fa, as_role):
        response = as_role(Role.REGISTRY).get(reverse("home"))
        assert response.status_code == 302
        assert response["Location"] == reverse("mfa_activate_totp")

    def test_students_are_not_asked(self, require_2fa, as_role):
        assert as_role(Role.STUDENT).get(reverse("home")).status_code == 200

    def test_staff_with_totp_pass(self, require_2fa, school, make_member):
        member = make_member(school, Role.REGISTRY)
        Authenticator.objects.create(
            user=member.user, type=Authenticator.Type.TOTP, data={"secret": "x"}
        )
        assert client_for(member).get(reverse("home")).status_code == 200

    def test_without_the_policy_staff_pass(self, as_role):
        assert as_role(Role.REGISTRY).get(reverse("home")).status_code == 200


def test_members_export_as_xlsx(admin_client, school, make_member):
    make_member(school, Role.TEACHER, username="exported")
    response = admin_client.get(reverse("accounts:members"), {"export": "xlsx", "q": "exported"})
    assert response["Content-Disposition"].startswith("attachment")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][0] == "exported"
