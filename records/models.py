"""What offices keep about students. Issue-by-issue this grows into the full records."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Division
from portfolio.models import GRADE_CHOICES, School, SchoolYear


class SchoolClassQuerySet(models.QuerySet):
    def for_school(self, school: School) -> "SchoolClassQuerySet":
        return self.filter(school=school)


class SchoolClass(models.Model):
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="classes")
    school_year = models.ForeignKey(SchoolYear, on_delete=models.CASCADE, related_name="classes")
    name = models.CharField(_("class"), max_length=20)
    grade = models.PositiveSmallIntegerField(_("grade"), choices=GRADE_CHOICES)
    division = models.CharField(
        _("division"), max_length=16, choices=Division.choices, default=Division.DAY
    )
    homeroom_teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="homeroom_classes",
        verbose_name=_("homeroom teacher"),
    )

    objects = SchoolClassQuerySet.as_manager()

    class Meta:
        ordering = ["school_year", "grade", "name"]
        verbose_name = _("class")
        constraints = [
            models.UniqueConstraint(
                fields=["school_year", "division", "name"], name="unique_class_name"
            )
        ]

    def __str__(self) -> str:
        return self.name


class StudentQuerySet(models.QuerySet):
    def for_school(self, school: School) -> "StudentQuerySet":
        return self.filter(school=school)


class Student(models.Model):
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="students")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="student",
    )
    student_number = models.CharField(_("student number"), max_length=20)
    name = models.CharField(_("name"), max_length=100)
    school_class = models.ForeignKey(
        SchoolClass,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="students",
        verbose_name=_("class"),
    )
    seat_number = models.PositiveSmallIntegerField(
        _("seat number"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
    )

    objects = StudentQuerySet.as_manager()

    class Meta:
        ordering = ["school_class__name", "seat_number", "student_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "student_number"], name="unique_student_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.student_number} {self.name}"
