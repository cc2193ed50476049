"""What students hand in: stored files and course outcomes (課程學習成果)."""

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portfolio.models import School
from records.models import CourseEnrolment, Student

if TYPE_CHECKING:
    from portfolio.models import Term


class StoredFile(models.Model):
    """A checked upload kept in the default storage under ``files/<school code>/<key>``.

    The key is random (never the student's file name); the display name is the cleaned
    original name, shown to people and used on download.
    """

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    storage_key = models.CharField(max_length=64, unique=True, editable=False)
    display_name = models.CharField(_("file name"), max_length=100)
    extension = models.CharField(max_length=8)
    mime = models.CharField(max_length=64)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

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


class CourseOutcome(models.Model):
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
