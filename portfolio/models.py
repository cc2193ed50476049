"""The core every app shares: schools, their years and terms, windows, policy, audit."""

import datetime as dt
import functools
from collections.abc import Iterable

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable
from django.utils.translation import gettext_lazy as _

from portfolio.lib import roc

# Limits the central database sets for every school; a school's policy may be stricter.
NATIONAL_OUTCOME_SELECTION_MAX = 6
NATIONAL_PERFORMANCE_SELECTION_MAX = 10
NATIONAL_DOCUMENT_MAX_MB = 4
NATIONAL_MEDIA_MAX_MB = 10
NATIONAL_SHORT_DESCRIPTION_MAX = 100
DOCUMENT_TYPES = [("pdf", "PDF"), ("jpg", "JPG"), ("png", "PNG")]
MEDIA_TYPES = [("mp3", "MP3"), ("mp4", "MP4")]


@functools.cache
def _choice_labels(field: models.Field) -> dict:
    return dict(make_hashable(field.flatchoices))


class ChoiceLabels:
    """``get_FOO_display`` without building a dict of every choice at each call, as Django's
    does (~20 µs a call; a portfolio of 60 items makes 200 of them). For models listed many at
    a time; put it before ``models.Model`` in the bases. The labels stay lazy: each call says
    them in the language active then."""

    def _get_FIELD_display(self, field: models.Field) -> str:
        value = getattr(self, field.attname)
        label = _choice_labels(field).get(make_hashable(value), value)
        return force_str(label, strings_only=True)


class School(models.Model):
    code = models.CharField(
        _("school code"),
        max_length=6,
        unique=True,
        validators=[RegexValidator(r"^\d{6}$", _("A school code is 6 digits."))],
    )
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    has_continuing_division = models.BooleanField(
        _("has a continuing-education division"), default=False
    )
    # Raised with every change to the school's years, terms, policies or windows, in the same
    # transaction (portfolio.calendar): what each process keeps of them is keyed by it.
    calendar_version = models.PositiveIntegerField(default=0, editable=False)
    # Set by the platform operator (accounts.platform): while set, no member acts in the
    # school; nothing of it is deleted, and resuming clears both at once.
    suspended_at = models.DateTimeField(_("suspended at"), null=True, blank=True, editable=False)
    suspended_reason = models.CharField(
        _("reason for the suspension"), max_length=500, blank=True, editable=False
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("school")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None

    def display_name(self, language: str) -> str:
        return self.name_en if language == "en" and self.name_en else self.name

    def year_for(self, day: dt.date) -> "SchoolYear | None":
        return self.years.filter(roc_year=roc.school_year_of(day)).first()


class SchoolYearQuerySet(models.QuerySet):
    def current_for(self, school: School) -> "SchoolYear | None":
        return self.filter(school=school, roc_year=roc.current_school_year()).first()


class SchoolYear(models.Model):
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="years")
    roc_year = models.PositiveSmallIntegerField(
        _("school year (ROC)"), validators=[MinValueValidator(100), MaxValueValidator(200)]
    )

    objects = SchoolYearQuerySet.as_manager()

    class Meta:
        ordering = ["-roc_year"]
        constraints = [
            models.UniqueConstraint(fields=["school", "roc_year"], name="unique_school_year")
        ]

    def __str__(self) -> str:
        return _("School year %(year)s") % {"year": self.roc_year}

    @property
    def starts_on(self) -> dt.date:
        return roc.school_year_bounds(self.roc_year)[0]

    @property
    def ends_on(self) -> dt.date:
        return roc.school_year_bounds(self.roc_year)[1]


def last_started(terms: "Iterable[Term]", today: dt.date | None = None) -> "Term | None":
    """Among ``terms``, the one whose records are being kept now: the one under way or,
    between terms, the one just ended; before any has started, the first."""
    today = today or timezone.localdate()
    by_start = sorted(terms, key=lambda term: term.starts_on)
    started = [term for term in by_start if term.starts_on <= today]
    return started[-1] if started else (by_start[0] if by_start else None)


class TermQuerySet(models.QuerySet):
    def last_started_for(self, school: School, *, today: dt.date | None = None) -> "Term | None":
        """``last_started`` among the school's terms."""
        return last_started(self.filter(school=school).select_related("school_year"), today)

    def current_for(self, school: School, *, today: dt.date | None = None) -> "Term | None":
        """The term in progress; between terms the next one (being planned); after the
        last, the latest."""
        today = today or timezone.localdate()
        terms = list(self.filter(school=school).select_related("school_year", "school"))
        running = [t for t in terms if t.starts_on <= today <= t.ends_on]
        if running:
            return running[0]
        upcoming = sorted((t for t in terms if t.starts_on > today), key=lambda t: t.starts_on)
        if upcoming:
            return upcoming[0]
        return max(terms, key=lambda t: t.starts_on, default=None)


class Term(models.Model):
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="terms")
    school_year = models.ForeignKey(SchoolYear, on_delete=models.CASCADE, related_name="terms")
    number = models.PositiveSmallIntegerField(
        _("term"), choices=[(1, _("Term 1")), (2, _("Term 2"))]
    )
    starts_on = models.DateField(_("first day"))
    closing_day = models.DateField(
        _("closing day"), help_text=_("The day of the term's closing ceremony (休業式).")
    )
    ends_on = models.DateField(_("last day"))

    objects = TermQuerySet.as_manager()

    class Meta:
        ordering = ["school_year__roc_year", "number"]
        constraints = [
            models.UniqueConstraint(fields=["school_year", "number"], name="unique_term_number")
        ]

    def __str__(self) -> str:
        return _("%(year)s school year, term %(term)s") % {
            "year": self.school_year.roc_year,
            "term": self.number,
        }

    @property
    def label(self) -> str:
        return f"{self.school_year.roc_year}-{self.number}"


class WindowKind(models.TextChoices):
    BASIC_DATA_CHECK = "basic_data_check", _("Basic-data check")
    OUTCOME_UPLOAD = "outcome_upload", _("Course-outcome upload")
    CERTIFICATION = "certification", _("Certification")
    PERFORMANCE_UPLOAD = "performance_upload", _("Diverse-performance upload")
    SELECTION = "selection", _("Selection for the central database")
    SUBMISSION = "submission", _("Submission to the central database")
    RECEIPT_CONFIRMATION = "receipt_confirmation", _("Receipt confirmation")
    COURSE_CODE_CHECK = "course_code_check", _("Course-code check")


class WindowState(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


GRADE_CHOICES = [(10, _("Grade 10")), (11, _("Grade 11")), (12, _("Grade 12"))]


class WindowQuerySet(models.QuerySet):
    def for_school(self, school: School) -> "WindowQuerySet":
        return self.filter(school=school)

    def open_at(self, moment: dt.datetime) -> "WindowQuerySet":
        return self.filter(starts_at__lte=moment, ends_at__gt=moment)

    def upcoming_at(self, moment: dt.datetime) -> "WindowQuerySet":
        return self.filter(starts_at__gt=moment)

    def for_grade(self, grade: int | None) -> "WindowQuerySet":
        if grade is None:
            return self
        return self.filter(models.Q(grade__isnull=True) | models.Q(grade=grade))


SELECTION_BATCHES = [(1, _("First batch (第一梯次)")), (2, _("Second batch (第二梯次)"))]


class Window(models.Model):
    """A period in which something may be done, enforced on the server by its times.

    ``state`` records which transition the periodic task has applied and audited; the
    times alone decide whether an action is allowed at a given moment.
    """

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="windows")
    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="windows")
    kind = models.CharField(_("kind"), max_length=32, choices=WindowKind.choices)
    grade = models.PositiveSmallIntegerField(
        _("grade"),
        choices=GRADE_CHOICES,
        null=True,
        blank=True,
        help_text=_("Leave empty for all grades."),
    )
    starts_at = models.DateTimeField(_("opens"))
    ends_at = models.DateTimeField(_("closes"))
    self_check_on = models.DateField(
        _("self-check date"),
        null=True,
        blank=True,
        help_text=_("The date by which students or staff check their own entries (自主檢核)."),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    # Grade 12 selects in batches (梯次): its first and second selection windows send their
    # own rosters (34/35/36/38, then 74/75/76/78).
    batch = models.PositiveSmallIntegerField(
        _("batch (梯次)"), choices=SELECTION_BATCHES, null=True, blank=True
    )
    state = models.CharField(
        max_length=16, choices=WindowState.choices, default=WindowState.SCHEDULED
    )
    state_changed_at = models.DateTimeField(null=True, blank=True)

    objects = WindowQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "kind"]
        indexes = [models.Index(fields=["school", "starts_at", "ends_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="window_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        batch = f" {self.get_batch_display()}" if self.batch else ""
        return f"{self.get_kind_display()}{batch} {self.term.label}"

    def is_open_at(self, moment: dt.datetime) -> bool:
        return self.starts_at <= moment < self.ends_at

    def due_state(self, moment: dt.datetime) -> str:
        if moment < self.starts_at:
            return WindowState.SCHEDULED
        if moment < self.ends_at:
            return WindowState.OPEN
        return WindowState.CLOSED

    def days_left(self, moment: dt.datetime) -> int:
        """Whole days until closing, counting a part day as a day (0 once closed)."""
        remaining = self.ends_at - moment
        if remaining.total_seconds() <= 0:
            return 0
        return remaining.days + (1 if remaining.seconds or remaining.microseconds else 0)

    def days_until_open(self, moment: dt.datetime) -> int:
        ahead = self.starts_at - moment
        return max(0, ahead.days + (1 if ahead.seconds else 0))


def default_document_types() -> list[str]:
    return [code for code, _label in DOCUMENT_TYPES]


def default_media_types() -> list[str]:
    return [code for code, _label in MEDIA_TYPES]


class SchoolPolicy(models.Model):
    """A school's own rules for one school year (caps, file limits, two-factor)."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="policies")
    school_year = models.OneToOneField(SchoolYear, on_delete=models.CASCADE, related_name="policy")
    outcome_upload_cap_per_term = models.PositiveSmallIntegerField(
        _("course outcomes a student may upload per term"),
        default=6,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
    )
    performance_upload_cap_per_year = models.PositiveSmallIntegerField(
        _("diverse performances a student may upload per year"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
    )
    outcome_selection_cap = models.PositiveSmallIntegerField(
        _("course outcomes a student may select per year"),
        default=NATIONAL_OUTCOME_SELECTION_MAX,
        validators=[MinValueValidator(1), MaxValueValidator(NATIONAL_OUTCOME_SELECTION_MAX)],
    )
    performance_selection_cap = models.PositiveSmallIntegerField(
        _("diverse performances a student may select per year"),
        default=NATIONAL_PERFORMANCE_SELECTION_MAX,
        validators=[MinValueValidator(1), MaxValueValidator(NATIONAL_PERFORMANCE_SELECTION_MAX)],
    )
    document_types = models.JSONField(_("document types"), default=default_document_types)
    document_max_mb = models.PositiveSmallIntegerField(
        _("largest document (MB)"),
        default=NATIONAL_DOCUMENT_MAX_MB,
        validators=[MinValueValidator(1), MaxValueValidator(NATIONAL_DOCUMENT_MAX_MB)],
    )
    media_types = models.JSONField(_("media types"), default=default_media_types)
    media_max_mb = models.PositiveSmallIntegerField(
        _("largest media file (MB)"),
        default=NATIONAL_MEDIA_MAX_MB,
        validators=[MinValueValidator(1), MaxValueValidator(NATIONAL_MEDIA_MAX_MB)],
    )
    short_description_max = models.PositiveSmallIntegerField(
        _("longest short description (characters)"),
        default=NATIONAL_SHORT_DESCRIPTION_MAX,
        validators=[MinValueValidator(10), MaxValueValidator(NATIONAL_SHORT_DESCRIPTION_MAX)],
    )
    staff_require_2fa = models.BooleanField(_("staff must use two-factor sign-in"), default=False)

    class Meta:
        verbose_name = _("school policy")

    def __str__(self) -> str:
        return f"{self.school.code} {self.school_year.roc_year}"


class AuditLog(models.Model):
    """Who did what to which object, when, and for whom when acting as a deputy."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, null=True, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["school", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.target_repr}"


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Done")
    FAILED = "failed", _("Failed")


class Job(models.Model):
    """A long piece of work run in the background (imports, exports, packages).

    The page that started it shows its progress and, when done, its result; the user
    may leave and come back.
    """

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    kind = models.CharField(max_length=64)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)
    result = models.JSONField(default=dict, blank=True)
    input_file = models.FileField(upload_to="jobs/input/", blank=True)
    result_file = models.FileField(upload_to="jobs/result/", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # While a worker runs the job it marks the row every HEARTBEAT seconds (portfolio.jobs):
    # a running job whose mark is old lost its worker, and jobs_recover runs it again or
    # fails it. ``attempts`` counts the runs started.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["heartbeat_at"],
                name="job_running_heartbeat",
                condition=models.Q(status="running"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.status in {JobStatus.SUCCEEDED, JobStatus.FAILED}

    @property
    def has_failed(self) -> bool:
        return self.status == JobStatus.FAILED

    @property
    def has_succeeded(self) -> bool:
        return self.status == JobStatus.SUCCEEDED

    @property
    def failure_message(self) -> str:
        """Why the job failed, in the active language (``message`` keeps the reason's code;
        the exception is in the log only)."""
        from portfolio.jobs import failure_text

        return failure_text(self.message)
