"""Reads that several pages share: a student's basic data, everything on one page.

The student reads it on their basic-data page; staff who may see the student read the same
on the student's record (``records.views.student``).
"""

import dataclasses

from portfolio.models import Term
from records.models import (
    AttendanceSummary,
    CadrePost,
    CareerExploration,
    ClubMembership,
    Consultation,
    CorrectionRequest,
    CourseEnrolment,
    Student,
)


@dataclasses.dataclass
class CourseTerm:
    term: Term
    enrolments: list[CourseEnrolment]

    @property
    def credits(self) -> int:
        return sum(e.course.credits for e in self.enrolments)

    @property
    def credits_passed(self) -> int:
        return sum(e.course.credits for e in self.enrolments if e.passed or e.makeup_passed)

    @property
    def graded(self) -> bool:
        return any(e.score is not None for e in self.enrolments)


@dataclasses.dataclass
class AttendanceTerm:
    term: Term
    rows: list[AttendanceSummary]

    @property
    def total(self) -> int:
        return sum(row.periods for row in self.rows)


@dataclasses.dataclass
class BasicData:
    student: Student
    cadre_posts: list[CadrePost]
    clubs: list[ClubMembership]
    attendance: list[AttendanceTerm]
    course_terms: list[CourseTerm]
    consultations: list[Consultation]
    career_records: list[CareerExploration]
    corrections: list[CorrectionRequest]


def _by_term(rows, term_of) -> list[tuple[Term, list]]:
    groups: dict[int, tuple[Term, list]] = {}
    for row in rows:
        term = term_of(row)
        groups.setdefault(term.pk, (term, []))[1].append(row)
    return list(groups.values())


def basic_data_for(student: Student) -> BasicData:
    """All of a student's basic data, in a fixed number of queries."""
    mine = {"school_id": student.school_id, "student": student}
    cadre_posts = list(
        CadrePost.objects.filter(**mine)
        .select_related("term__school_year")
        .order_by("starts_on", "id")
    )
    clubs = list(
        ClubMembership.objects.filter(**mine)
        .select_related("club", "term__school_year")
        .order_by("term__school_year__roc_year", "term__number", "club__name")
    )
    attendance = AttendanceSummary.objects.filter(**mine).select_related("term__school_year")
    attendance = attendance.order_by("term__school_year__roc_year", "term__number", "kind")
    enrolments = (
        CourseEnrolment.objects.filter(**mine)
        .select_related("course__term__school_year")
        .order_by(
            "course__term__school_year__roc_year",
            "course__term__number",
            "course__code",
            "course__section",
        )
    )
    consultations = list(
        Consultation.objects.filter(**mine).select_related("consultant").order_by("-held_at")
    )
    career_records = list(
        CareerExploration.objects.filter(**mine)
        .select_related("counsellor")
        .order_by("-held_on", "-id")
    )
    corrections = list(
        CorrectionRequest.objects.filter(**mine)
        .select_related("resolved_by")
        .order_by("-created_at", "-id")
    )
    return BasicData(
        student=student,
        cadre_posts=cadre_posts,
        clubs=clubs,
        attendance=[
            AttendanceTerm(term, rows) for term, rows in _by_term(attendance, lambda r: r.term)
        ],
        course_terms=[
            CourseTerm(term, rows) for term, rows in _by_term(enrolments, lambda e: e.course.term)
        ],
        consultations=consultations,
        career_records=career_records,
        corrections=corrections,
    )


# --- Writes ---------------------------------------------------------------------------
