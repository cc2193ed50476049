"""People and what they may do: users, their memberships (role in a school), deputies."""

import datetime as dt

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portfolio.models import School


class User(AbstractUser):
    name = models.CharField(_("full name"), max_length=100, blank=True)
    # The language the person last used on the site: their e-mails are written in it.
    language = models.CharField(max_length=10, default=settings.LANGUAGE_CODE)
    # The kinds of notice (NoticeKind) the person does not want by e-mail; in the app all stay.
    notice_email_off = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("email"), condition=~models.Q(email=""), name="unique_nonempty_email"
            )
        ]

    def __str__(self) -> str:
        return self.name or self.username


class Role(models.TextChoices):
    STUDENT = "student", _("Student")
    TEACHER = "teacher", _("Subject teacher")
    HOMEROOM = "homeroom", _("Homeroom teacher")
    CONSULTANT = "consultant", _("Course consultant")
    COUNSELLOR = "counsellor", _("Counselling office")
    REGISTRY = "registry", _("Registry office")
    CURRICULUM = "curriculum", _("Curriculum office")
    STUDENT_AFFAIRS = "student_affairs", _("Student-affairs office")
    SCHOOL_ADMIN = "school_admin", _("School administrator")
    WORKING_GROUP = "working_group", _("Portfolio working group")


STAFF_ROLES = frozenset(Role) - {Role.STUDENT}
# Offices (units) whose head names deputies for absent staff.
UNIT_ROLES = [
    Role.REGISTRY,
    Role.CURRICULUM,
    Role.STUDENT_AFFAIRS,
    Role.COUNSELLOR,
    Role.SCHOOL_ADMIN,
]


class Division(models.TextChoices):
    DAY = "day", _("Day division")
    CONTINUING = "continuing", _("Continuing-education division")


class MembershipQuerySet(models.QuerySet):
    def active(self) -> "MembershipQuerySet":
        return self.filter(is_active=True)

    def for_school(self, school: School) -> "MembershipQuerySet":
        return self.filter(school=school)


class Membership(models.Model):
    """A user's role in a school; a user may hold several."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    division = models.CharField(
        _("division"), max_length=16, choices=Division.choices, default=Division.DAY
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["school__code", "role", "division"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "school", "role", "division"], name="unique_membership"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.school.code}"


class DeputyQuerySet(models.QuerySet):
    def for_school(self, school: School) -> "DeputyQuerySet":
        return self.filter(school=school)

    def in_force_on(self, day: dt.date) -> "DeputyQuerySet":
        return self.filter(starts_on__lte=day, ends_on__gte=day)


class Deputy(models.Model):
    """A deputy (代理人) who may act for a member of a unit, in order (代理順位), between dates."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="deputies")
    role = models.CharField(_("unit"), max_length=32, choices=Role.choices)
    division = models.CharField(
        _("division"), max_length=16, choices=Division.choices, default=Division.DAY
    )
    principal = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="deputised_by",
        verbose_name=_("acts for"),
    )
    deputy = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="deputy_for",
        verbose_name=_("deputy"),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=1)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))

    objects = DeputyQuerySet.as_manager()

    class Meta:
        ordering = ["role", "division", "principal_id", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "role", "division", "principal", "order"],
                name="unique_deputy_order",
            ),
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")), name="deputy_dates_ordered"
            ),
        ]

    def __str__(self) -> str:
        return _("%(deputy)s for %(principal)s (%(unit)s, #%(order)s)") % {
            "deputy": self.deputy,
            "principal": self.principal,
            "unit": self.get_role_display(),
            "order": self.order,
        }


class NoticeKind(models.TextChoices):
    """What a notice is about; a person turns e-mail off per kind."""

    DECISION = "decision", _("Decisions on my course outcomes")
    CONCERN = "concern", _("Answers to my concerns")
    FILE = "file", _("Files that must be uploaded again")
    REMINDER = "reminder", _("Reminders before a window closes")
    DIGEST = "digest", _("A daily summary of what awaits me")
    FROM_STAFF = "from_staff", _("Reminders from my homeroom teacher or an office")


class EmailState(models.TextChoices):
    OFF = "off", _("Not sent by e-mail")
    PENDING = "pending", _("Waiting to be sent")
    SENT = "sent", _("Sent by e-mail")
    FAILED = "failed", _("E-mail failed")


class NoticeQuerySet(models.QuerySet):
    def for_user(self, user, school: School, role: str = "") -> "NoticeQuerySet":
        """The person's notices in ``school``; with ``role``, those for it and for any."""
        found = self.filter(user=user, school=school)
        return found.filter(models.Q(role="") | models.Q(role=role)) if role else found

    def unread(self) -> "NoticeQuerySet":
        return self.filter(read_at__isnull=True)


class Notice(models.Model):
    """Something a person is told, in the app and (unless they turned it off) by e-mail.

    ``key`` names the event, so that a notice is written once however often or concurrently
    the code that decides it runs (unique per person). What it says is rendered in the
    reader's language from ``topic`` and ``params`` (accounts.notices)."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices"
    )
    kind = models.CharField(max_length=16, choices=NoticeKind.choices)
    topic = models.CharField(max_length=32)
    key = models.CharField(max_length=120)
    params = models.JSONField(default=dict, blank=True)
    link = models.CharField(max_length=300, blank=True)
    # The role the notice is for (its link opens that role's page); empty for any role.
    role = models.CharField(max_length=32, choices=Role.choices, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    email = models.CharField(max_length=8, choices=EmailState.choices, default=EmailState.OFF)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_next_at = models.DateTimeField(null=True, blank=True)
    email_error = models.CharField(max_length=300, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    objects = NoticeQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="one_notice_per_key")]
        indexes = [
            models.Index(fields=["user", "school", "-created_at"], name="notice_list"),
            models.Index(
                fields=["email_next_at"],
                condition=models.Q(email="pending"),
                name="notice_email_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic} → {self.user} ({self.key})"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class SignInKind(models.TextChoices):
    GOOGLE = "google", _("Google Workspace for Education")
    OIDC = "oidc", _("OpenID Connect (such as the education cloud)")


GOOGLE_ISSUER = "https://accounts.google.com"


class SignInProvider(models.Model):
    """A school's own sign-in provider (accounts.signin): its members sign in with the
    school's accounts, matched to the members the school administrator created by their
    verified e-mail address. The client secret is never stored here: only where to read
    it, a file or an environment variable."""

    school = models.OneToOneField(School, on_delete=models.CASCADE, related_name="signin_provider")
    kind = models.CharField(_("kind"), max_length=16, choices=SignInKind.choices)
    label_zh = models.CharField(_("button text (Chinese)"), max_length=60, blank=True)
    label_en = models.CharField(_("button text (English)"), max_length=60, blank=True)
    issuer = models.URLField(_("issuer URL"), max_length=300)
    client_id = models.CharField(_("client ID"), max_length=255)
    secret_file = models.CharField(_("file holding the client secret"), max_length=500, blank=True)
    secret_env = models.CharField(
        _("environment variable holding the client secret"), max_length=100, blank=True
    )
    # Lower-case domains, e.g. ["mail.example.edu.tw"]: an e-mail address outside them is
    # refused before the roster is looked at.
    email_domains = models.JSONField(_("allowed e-mail domains"), default=list)
    enabled = models.BooleanField(_("enabled"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["school__code"]
        verbose_name = _("school sign-in provider")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(secret_file="") | ~models.Q(secret_env=""),
                name="signin_provider_has_secret_source",
            )
        ]

    def __str__(self) -> str:
        return f"{self.school.code} {self.get_kind_display()}"

    @property
    def provider_id(self) -> str:
        """The id allauth knows this provider by (in its URLs and SocialAccount rows)."""
        return f"school-{self.school.code}"

    @property
    def is_google(self) -> bool:
        return self.kind == SignInKind.GOOGLE

    def label(self, language: str) -> str:
        """The school's own words for the sign-in button in ``language`` ("" for the default)."""
        return self.label_en if language == "en" else self.label_zh
