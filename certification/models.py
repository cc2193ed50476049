"""Concerns (反映): a student who disagrees with a decision on one of their course outcomes
writes to the course's teachers and the registry, who answer in a thread on the outcome."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from portfolio.models import School
from records.models import Student
from submissions.models import CourseOutcome


class Concern(models.Model):
    """One outcome's thread. It waits for an answer (``answered_at`` is None) from the
    student's last message until a teacher of the course or the registry writes."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    outcome = models.ForeignKey(CourseOutcome, on_delete=models.CASCADE, related_name="concerns")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="concerns")
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("concern")
        constraints = [models.UniqueConstraint(fields=["outcome"], name="one_concern_per_outcome")]
        indexes = [models.Index(fields=["school", "answered_at"])]

    def __str__(self) -> str:
        return f"{self.outcome} ({self.student})"

    @property
    def is_waiting(self) -> bool:
        return self.answered_at is None


class ConcernMessage(models.Model):
    concern = models.ForeignKey(Concern, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The role the author wrote in (a deputy writes as the teacher they act for).
    role = models.CharField(max_length=32, choices=Role.choices)
    text = models.TextField(_("message"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.text[:40]

    @property
    def is_student(self) -> bool:
        return self.role == Role.STUDENT
