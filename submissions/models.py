"""What students hand in: stored files and course outcomes (課程學習成果)."""

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from portfolio.models import ChoiceLabels, School
from records.models import CourseEnrolment, Student

if TYPE_CHECKING:
    from portfolio.models import Term


class FileFault(models.TextChoices):
    MISSING = "missing", _("The file is missing from storage")
    MISMATCH = "mismatch", _("The file no longer matches its checksum")


class StoredFile(models.Model):
    """A checked upload kept in the default storage under ``files/<school code>/<key>``.

    The key is random (never the student's file name); the display name is the cleaned
    original name, shown to people and used on download.
    """

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    # Whose portfolio the file belongs to: decides who may open it.
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="+")
    storage_key = models.CharField(max_length=64, unique=True, editable=False)
    display_name = models.CharField(_("file name"), max_length=100)
    extension = models.CharField(max_length=8)
    mime = models.CharField(max_length=64)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the nightly sweep last read the file back and found the same sha256.
    verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    # What the sweep last found wrong with the file, if anything: such a file cannot be
    # selected for the central database until it is replaced (or found whole again).
    fault = models.CharField(max_length=16, choices=FileFault.choices, blank=True, editable=False)

    class Meta:
        verbose_name = _("stored file")

    def __str__(self) -> str:
        return self.display_name

    @staticmethod
    def path_for(school: School, storage_key: str) -> str:
        return f"files/{school.code}/{storage_key}"

    @property
    def storage_path(self) -> str:
        return self.path_for(self.school, self.storage_key)


class OutcomeState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Awaiting certification")
    CERTIFIED = "certified", _("Certified")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# States in which the student may still change or withdraw an outcome.
OUTCOME_EDITABLE_STATES = (OutcomeState.DRAFT, OutcomeState.SUBMITTED, OutcomeState.REJECTED)


class CourseOutcomeQuerySet(models.QuerySet):
    def for_school(self, school: School) -> "CourseOutcomeQuerySet":
        return self.filter(school=school)

    def counting_toward_cap(self, student: Student, term: "Term") -> "CourseOutcomeQuerySet":
        """The student's outcomes of courses of ``term`` that use up the per-term cap."""
        return self.filter(student=student, enrolment__course__term=term).exclude(
            state=OutcomeState.WITHDRAWN
        )


class CourseOutcome(ChoiceLabels, models.Model):
    """A student's work from a credited course of a term, certified by the course's teacher."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="course_outcomes")
    enrolment = models.ForeignKey(
        CourseEnrolment,
        on_delete=models.CASCADE,
        related_name="outcomes",
        verbose_name=_("course"),
    )
    title = models.CharField(_("title"), max_length=100)
    description = models.TextField(
        _("short description"), help_text=_("What the work is (成果簡述).")
    )
    document = models.ForeignKey(
        StoredFile,
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("document"),
    )
    media = models.ForeignKey(
        StoredFile,
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("media file"),
    )
    state = models.CharField(
        _("state"), max_length=16, choices=OutcomeState.choices, default=OutcomeState.DRAFT
    )
    rejection_reason = models.TextField(_("reason for rejection"), blank=True)
    # Filled by the certification queue: who decided, and when.
    certified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("certified by"),
    )
    certified_at = models.DateTimeField(_("certified at"), null=True, blank=True)
    # The sha256 of each file the decision was made on ({"document": ..., "media": ...}): a
    # file lost or altered in storage and uploaded again byte for byte keeps the decision.
    decided_files = models.JSONField(default=dict, blank=True)
    # Set when the registry reopened a decision (the item awaits certification again); the
    # teacher and the student see the reason while it awaits.
    reopen_reason = models.CharField(_("why the decision was reopened"), max_length=500, blank=True)
    reopened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reopened_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CourseOutcomeQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("course outcome")
        indexes = [models.Index(fields=["student", "state"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(document__isnull=False) | models.Q(media__isnull=False),
                name="course_outcome_has_a_file",
            )
        ]

    def __str__(self) -> str:
        return self.title

    # States by name, for templates (which would otherwise compare strings).
    @property
    def is_draft(self) -> bool:
        return self.state == OutcomeState.DRAFT

    @property
    def is_submitted(self) -> bool:
        return self.state == OutcomeState.SUBMITTED

    @property
    def is_certified(self) -> bool:
        return self.state == OutcomeState.CERTIFIED

    @property
    def is_rejected(self) -> bool:
        return self.state == OutcomeState.REJECTED

    @property
    def faulty_files(self) -> list[str]:
        """The kinds ("document", "media") whose stored file the nightly check found missing
        or altered (document and media loaded)."""
        return [
            kind
            for kind, stored in (("document", self.document), ("media", self.media))
            if stored is not None and stored.fault
        ]

    @property
    def needs_file_again(self) -> bool:
        """Certified, but a file it was certified on is lost or altered in storage: the
        student (or registry) uploads it again."""
        return self.is_certified and bool(self.faulty_files)

    @property
    def is_reopened(self) -> bool:
        """Awaiting certification again because the registry reopened its decision."""
        return self.is_submitted and bool(self.reopen_reason)


# --- windows opened late for one student ----------------------------------------------------


class ExtensionKind(models.TextChoices):
    OUTCOME_UPLOAD = "outcome_upload", _("Course-outcome upload")
    PERFORMANCE_UPLOAD = "performance_upload", _("Diverse-performance upload")
    SELECTION = "selection", _("Selection for the central database")


class WindowExtension(models.Model):
    """Registry opens an upload window late for one student of one term (reason audited).

    While ``starts_at <= now < ends_at`` the student may upload, change and withdraw as if the
    term's window of that kind were open; nothing else changes for anyone else.
    """

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="window_extensions")
    term = models.ForeignKey("portfolio.Term", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("window"), max_length=32, choices=ExtensionKind.choices)
    starts_at = models.DateTimeField(_("opens"))
    ends_at = models.DateTimeField(_("closes"))
    reason = models.TextField(_("reason"))
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("window extension")
        indexes = [models.Index(fields=["student", "kind", "ends_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="window_extension_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.student}"

    def is_open_at(self, moment: dt.datetime) -> bool:
        return self.starts_at <= moment < self.ends_at


# --- diverse performances (多元表現) ---------------------------------------------------------


class PerformanceCategory(models.TextChoices):
    """The ten national categories, in the order of roster 25's sheets."""

    CADRE = "cadre", _("Cadre posts and deeds")  # 幹部經歷暨事蹟
    COMPETITION = "competition", _("Competitions")  # 競賽參與
    CERTIFICATE = "certificate", _("Tests and certificates")  # 檢定證照
    SERVICE = "service", _("Service learning")  # 服務學習
    FLEXIBLE = "flexible", _("Flexible learning time")  # 彈性學習時間
    GROUP_ACTIVITY = "group_activity", _("Group activity time")  # 團體活動時間
    WORKPLACE = "workplace", _("Workplace learning")  # 職場學習
    WORK = "work", _("Works and creations")  # 作品成果
    PREPARATORY = "preparatory", _("University preparatory courses")  # 大學及技專校院先修課程
    OTHER = "other", _("Other performances")  # 其他


class PerformanceSource(models.TextChoices):
    STUDENT = "student", _("Added by the student")
    SCHOOL = "school", _("Entered by the school")
    OUTSIDE = "outside", _("Entered for an outside body")


# Items an office enters, which students see but do not count toward their cap.
STAFF_SOURCES = (PerformanceSource.SCHOOL, PerformanceSource.OUTSIDE)


class PerformanceState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SAVED = "saved", _("Uploaded")
    WITHDRAWN = "withdrawn", _("Withdrawn")


PERFORMANCE_EDITABLE_STATES = (PerformanceState.DRAFT, PerformanceState.SAVED)


class PerformanceQuerySet(models.QuerySet):
    def for_school(self, school: School) -> "PerformanceQuerySet":
        return self.filter(school=school)

    def counting_toward_cap(self, student: Student, school_year_id: int) -> "PerformanceQuerySet":
        """What uses up the yearly cap: the student's own items, not withdrawn.

        Items that the school or an outside body entered are shown but never counted.
        """
        return self.filter(
            student=student, school_year_id=school_year_id, source=PerformanceSource.STUDENT
        ).exclude(state=PerformanceState.WITHDRAWN)


class Performance(ChoiceLabels, models.Model):
    """One diverse performance of a student in a school year.

    The columns every category shares are fields; what a category adds (level, result,
    hours, certificate code, ...) lives in ``details``, checked against the category's
    fields in ``submissions.performance_categories``.
    """

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="performances")
    school_year = models.ForeignKey(
        "portfolio.SchoolYear", on_delete=models.CASCADE, related_name="+"
    )
    category = models.CharField(_("category"), max_length=32, choices=PerformanceCategory.choices)
    source = models.CharField(
        _("entered by"),
        max_length=16,
        choices=PerformanceSource.choices,
        default=PerformanceSource.STUDENT,
    )
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("short description"), blank=True)
    starts_on = models.DateField(_("from"), null=True, blank=True)
    ends_on = models.DateField(_("to"), null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    document = models.ForeignKey(
        StoredFile,
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("proof document"),
    )
    media = models.ForeignKey(
        StoredFile,
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("media file"),
    )
    video_url = models.URLField(_("external video link"), max_length=500, blank=True)
    state = models.CharField(
        _("state"),
        max_length=16,
        choices=PerformanceState.choices,
        default=PerformanceState.SAVED,
    )
    # The office (a staff role) that entered a school-held item and alone may change it;
    # empty for the student's own items and for items loaded from the command line.
    entered_by_office = models.CharField(_("office"), max_length=32, blank=True)
    # Who typed it in: the student, or the staff member of the office that entered it.
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PerformanceQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("diverse performance")
        indexes = [models.Index(fields=["student", "school_year", "state"])]

    def __str__(self) -> str:
        return self.name

    @property
    def office_label(self) -> str:
        """The office that entered it, by its role's name ("" when none did)."""
        return str(Role(self.entered_by_office).label) if self.entered_by_office else ""

    @property
    def is_draft(self) -> bool:
        return self.state == PerformanceState.DRAFT

    @property
    def counts_toward_cap(self) -> bool:
        return self.source == PerformanceSource.STUDENT and self.state != PerformanceState.WITHDRAWN


# --- the year's selection for the central database (勾選) ------------------------------------


class Selection(models.Model):
    """What a student selects of one school year for the central database.

    Saved whenever the student changes it within the selection window (or a registry
    extension); ``confirmed_at`` is set when the student confirms what they saw in the
    preview, and cleared by any later change. ``locked_at`` is set once by the periodic task
    when the window has closed for the student: the selection is final from then, until the
    registry opens it again for this student (an extension), after which it locks again.
    """

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="selections")
    school_year = models.ForeignKey(
        "portfolio.SchoolYear", on_delete=models.CASCADE, related_name="+"
    )
    outcomes = models.ManyToManyField(CourseOutcome, blank=True, related_name="selections")
    performances = models.ManyToManyField(Performance, blank=True, related_name="selections")
    saved_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("selection for the central database")
        constraints = [
            models.UniqueConstraint(fields=["student", "school_year"], name="one_selection_a_year")
        ]
        indexes = [models.Index(fields=["school_year", "locked_at"])]

    def __str__(self) -> str:
        return f"{self.student} {self.school_year}"

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None


# --- roster packages for the central database (名冊) -----------------------------------------


class PackageState(models.TextChoices):
    BUILDING = "building", _("Building")
    INTERRUPTED = "interrupted", _("Build interrupted")
    PROBLEMS = "problems", _("Pre-check failed")
    BUILT = "built", _("Ready to submit")
    SUBMITTED = "submitted", _("Submitted")
    ACCEPTED = "accepted", _("Accepted by the central database")
    REJECTED = "rejected", _("Errors returned by the central database")
    REOPENED = "reopened", _("Reopened for resubmission")


# A package in one of these states holds its items fast: they were sent to the central
# database and may not change until the registry reopens the roster.
FROZEN_STATES = (PackageState.SUBMITTED, PackageState.ACCEPTED, PackageState.REJECTED)


class RosterPackage(models.Model):
    """One build of one roster (名冊) of a term or school year, for one division.

    A build runs as a background job (``job``): it checks the roster's rows (the pre-check)
    and writes the workbook in the central layout, and for the item rosters a zip of the
    selected items' files with their sha256 sums. It ends with problems (nothing to submit
    until they are fixed and the roster is built again) or built; a built package is
    submitted through the transport chosen in settings, and its items are frozen until the
    registry reopens it with a reason. Only one build of a roster runs at a time (a partial
    unique constraint); a build whose worker died is marked interrupted when the next one
    starts.
    """

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    school_year = models.ForeignKey(
        "portfolio.SchoolYear", on_delete=models.CASCADE, related_name="+"
    )
    # The term of a term roster; None for a yearly roster (cover term 0), with
    # ``term_number`` 0 so that the roster's identity has no NULL in it.
    term = models.ForeignKey(
        "portfolio.Term", on_delete=models.CASCADE, null=True, related_name="+"
    )
    term_number = models.PositiveSmallIntegerField(default=0)
    roster = models.PositiveSmallIntegerField(_("roster code"))
    division = models.CharField(max_length=16)
    spec_version = models.CharField(max_length=8)
    state = models.CharField(
        _("state"), max_length=16, choices=PackageState.choices, default=PackageState.BUILDING
    )
    job = models.ForeignKey(
        "portfolio.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Set while a build runs, at every progress step: a build whose heartbeat stopped long
    # ago lost its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    file_name = models.CharField(max_length=100, blank=True)
    workbook = models.FileField(upload_to="rosters/", blank=True)
    workbook_sha256 = models.CharField(max_length=64, blank=True)
    files_zip = models.FileField(upload_to="rosters/", blank=True)
    files_zip_sha256 = models.CharField(max_length=64, blank=True)
    # sha256 over every row and every file's sha256, in order: the same data gives the same
    # content, whenever it is built.
    content_sha256 = models.CharField(max_length=64, blank=True)
    row_count = models.PositiveIntegerField(default=0)
    file_count = models.PositiveIntegerField(default=0)
    # What the pre-check found: {"problems": [...], "excluded": [...], counts}.
    findings = models.JSONField(default=dict, blank=True)
    # {row key: digest of the row} for the diff with the next build.
    row_digests = models.JSONField(default=dict, blank=True)
    # What changed since the last submitted package of the roster (None: nothing before).
    diff = models.JSONField(null=True, blank=True)
    outcomes = models.ManyToManyField(CourseOutcome, blank=True, related_name="packages")
    performances = models.ManyToManyField(Performance, blank=True, related_name="packages")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    built_at = models.DateTimeField(null=True, blank=True)
    transport = models.CharField(max_length=16, blank=True)
    # The central database's reference for an HTTP submission (FID), polled for its answer.
    reference = models.CharField(max_length=100, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    answer = models.JSONField(default=dict, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    # Set on a submitted package when a later one of the same roster is submitted.
    superseded_at = models.DateTimeField(null=True, blank=True)
    reopened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    reopened_at = models.DateTimeField(null=True, blank=True)
    reopen_reason = models.CharField(_("reason"), max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("roster package")
        constraints = [
            models.UniqueConstraint(
                fields=["school", "school_year", "term_number", "roster", "division"],
                condition=models.Q(state="building"),
                name="one_build_of_a_roster_at_a_time",
            )
        ]
        indexes = [models.Index(fields=["school", "school_year", "roster", "division"])]

    def __str__(self) -> str:
        return f"{self.roster} {self.school_year} {self.term_number} #{self.pk}"

    @property
    def is_frozen(self) -> bool:
        return self.state in FROZEN_STATES and self.superseded_at is None

    @property
    def is_building(self) -> bool:
        return self.state == PackageState.BUILDING

    @property
    def is_interrupted(self) -> bool:
        return self.state == PackageState.INTERRUPTED

    @property
    def is_built(self) -> bool:
        """Built, its pre-check passed, not yet submitted: ready to submit."""
        return self.state == PackageState.BUILT

    @property
    def is_reopened(self) -> bool:
        return self.state == PackageState.REOPENED

    @property
    def was_downloaded(self) -> bool:
        """Submitted by the office on the central database's site (the download transport)."""
        return self.transport == "download"

    @property
    def is_waiting_for_answer(self) -> bool:
        """Submitted over HTTP and not answered yet (sent or still to send)."""
        return self.state == PackageState.SUBMITTED and not self.was_downloaded

    @property
    def send_failed_at(self) -> dt.datetime | None:
        """When the last attempt to send it over HTTP failed (another comes), if it did."""
        failed = (self.answer or {}).get("failed_at") if not self.reference else None
        return dt.datetime.fromisoformat(failed) if failed else None

    @property
    def chip(self) -> str:
        """The state's chip style: good, under way, or to look at."""
        if self.state in (PackageState.BUILT, PackageState.ACCEPTED):
            return "chip-open"
        if self.state in (PackageState.BUILDING, PackageState.SUBMITTED):
            return "chip-scheduled"
        return "chip-closed"


# --- receipts from the central database (收訖明細) and the students' confirmation -------------


class LineStatus(models.TextChoices):
    RECEIVED = "received", _("Received as sent")
    MISSING = "missing", _("Missing: sent but not in the receipt")
    DIFFERENT = "different", _("Different from what was sent")
    UNEXPECTED = "unexpected", _("In the receipt but not sent from this platform")


class Receipt(models.Model):
    """A receipt file (收訖明細) of a school year, imported whole and reconciled with the
    roster packages it answers (``rosters``, matched by the workbooks' sha256).

    Registry sees its problems at once; students see their lines once registry releases it
    (``released_at``) during a receipt-confirmation window. The file itself is not kept: its
    lines are, and its sha256 makes a second import of the same file change nothing. Its
    password is never stored.
    """

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    school_year = models.ForeignKey(
        "portfolio.SchoolYear", on_delete=models.CASCADE, related_name="+"
    )
    file_name = models.CharField(_("file name"), max_length=200)
    sha256 = models.CharField(max_length=64)
    via = models.CharField(max_length=16)  # "upload" or "transport"
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    imported_at = models.DateTimeField(auto_now_add=True)
    # [{"name", "sha", "roster", "term", "package": pk or None}] as 名冊資訊 lists them.
    rosters = models.JSONField(default=list)
    # {"students", "lines", "received", "missing", "different", "unexpected",
    #  "unknown_students", "students_with_problems"}.
    counts = models.JSONField(default=dict)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-imported_at", "-pk"]
        verbose_name = _("receipt")
        constraints = [
            models.UniqueConstraint(fields=["school", "sha256"], name="one_import_per_receipt")
        ]

    def __str__(self) -> str:
        return self.file_name

    @property
    def is_released(self) -> bool:
        return self.released_at is not None

    @property
    def problem_count(self) -> int:
        counts = self.counts or {}
        return sum(counts.get(k, 0) for k in ("missing", "different", "unexpected"))


class ReceiptLineQuerySet(models.QuerySet):
    def problems(self) -> "ReceiptLineQuerySet":
        return self.exclude(status=LineStatus.RECEIVED)


class ReceiptLine(models.Model):
    """One record of a student in a receipt, or one the platform sent that the receipt
    lacks (missing), with what was sent and what came back."""

    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="lines")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="receipt_lines")
    position = models.PositiveIntegerField(default=0)
    root = models.CharField(max_length=16)  # 修課紀錄, 課程學習成果, 多元表現, 校內幹部經歷
    sheet = models.CharField(max_length=40)
    roster = models.PositiveSmallIntegerField(null=True)
    status = models.CharField(max_length=16, choices=LineStatus.choices)
    received = models.JSONField(default=dict, blank=True)
    sent = models.JSONField(default=dict, blank=True)
    # The fields whose values differ (a different line).
    differs = models.JSONField(default=list, blank=True)
    package = models.ForeignKey(
        RosterPackage, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    outcome = models.ForeignKey(
        CourseOutcome, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    performance = models.ForeignKey(
        Performance, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    objects = ReceiptLineQuerySet.as_manager()

    class Meta:
        ordering = ["receipt", "student", "position"]
        indexes = [
            models.Index(fields=["receipt", "student"]),
            models.Index(fields=["receipt", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.sheet} {self.get_status_display()}"

    @property
    def fields(self) -> dict[str, str]:
        """What to show of the line: what came back, or what was sent if nothing did; the
        school year left out (the receipt is the year's), and the term when it is 0 (a yearly
        roster's)."""
        fields = self.received or self.sent
        return {k: v for k, v in fields.items() if k != "學年度" and not (k == "學期" and v == "0")}

    @property
    def changes(self) -> list[tuple[str, str, str]]:
        """(field, as sent, as received) for each field that differs."""
        return [(f, self.sent.get(f, ""), self.received.get(f, "")) for f in self.differs]

    @property
    def is_received(self) -> bool:
        return self.status == LineStatus.RECEIVED

    @property
    def is_missing(self) -> bool:
        return self.status == LineStatus.MISSING

    @property
    def chip(self) -> str:
        return "chip-open" if self.is_received else "chip-closed"


class AnswerState(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed")
    DISPUTED = "disputed", _("Disputed")
    DEEMED = "deemed", _("Deemed confirmed (no answer by the deadline)")


class AnswerVia(models.TextChoices):
    ONLINE = "online", _("On the platform")
    PAPER = "paper", _("Paper reply")
    DEEMED = "deemed", _("When the window closed")


class ReceiptAnswer(models.Model):
    """A student's answer to their lines of a receipt: confirmed, disputed (with one
    ``Dispute`` per line), or deemed confirmed when the window closed without one. The
    student may change it while the window is open."""

    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="answers")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="receipt_answers")
    state = models.CharField(_("answer"), max_length=16, choices=AnswerState.choices)
    via = models.CharField(max_length=16, choices=AnswerVia.choices)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    answered_at = models.DateTimeField()

    class Meta:
        ordering = ["receipt", "student"]
        constraints = [
            models.UniqueConstraint(fields=["receipt", "student"], name="one_answer_per_receipt")
        ]

    def __str__(self) -> str:
        return f"{self.student} {self.get_state_display()}"

    @property
    def is_disputed(self) -> bool:
        return self.state == AnswerState.DISPUTED

    @property
    def is_deemed(self) -> bool:
        return self.state == AnswerState.DEEMED


class Dispute(models.Model):
    """A line a student says is wrong, with their text; it waits in the queue of the office
    that submitted its roster until the office answers (and marks the roster for
    resubmission when the data was corrected)."""

    answer = models.ForeignKey(ReceiptAnswer, on_delete=models.CASCADE, related_name="disputes")
    line = models.ForeignKey(ReceiptLine, on_delete=models.CASCADE, related_name="disputes")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    office = models.CharField(max_length=32, choices=Role.choices)
    text = models.TextField(_("what is wrong"))
    created_at = models.DateTimeField(auto_now_add=True)
    reply = models.TextField(_("answer"), blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    replied_at = models.DateTimeField(null=True, blank=True)
    resubmit = models.BooleanField(_("corrected: resubmit the roster"), default=False)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["school", "office", "replied_at"])]

    def __str__(self) -> str:
        return f"{self.line} {self.text[:20]}"

    @property
    def is_answered(self) -> bool:
        return self.replied_at is not None


class NoticeKind(models.TextChoices):
    REMINDER = "reminder", _("Reminder")
    LETTER = "letter", _("Letter printed")


class ReceiptNotice(models.Model):
    """A reminder sent to a student who has not answered a receipt (at most one a day), or a
    letter printed for a student who has left school."""

    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="notices")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=NoticeKind.choices)
    # The day in Taipei, so that "once a day" is the school's day.
    day = models.DateField()
    sent_at = models.DateTimeField(auto_now_add=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["receipt", "student", "kind", "day"], name="one_notice_a_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.student} {self.day}"
