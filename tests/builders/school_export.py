"""A small school for the whole-school export: students of class 101 with grades, a cadre
post, course outcomes and performances whose files are really in storage, a file no item
holds, a student without a national ID, and a built roster package with its workbook."""

import datetime as dt
import hashlib
from decimal import Decimal

from django.core.files.base import ContentFile

from accounts.models import Role
from records.models import CadreLevel, CadrePost, Gender, Student
from submissions.models import (
    CourseOutcome,
    OutcomeState,
    PackageState,
    Performance,
    PerformanceSource,
    PerformanceState,
    RosterPackage,
)
from tests.builders.rosters import RosterClass, code, stored_bytes


class ExportSchool:
    """``students`` with an outcome and a performance each (files in storage); the first also
    holds a cadre post; ``no_id`` has no national ID; ``loose`` is a file no item holds."""

    def __init__(self, school, make_member, *, students=2):
        self.school = school
        self.admin = make_member(school, Role.SCHOOL_ADMIN)
        self.roster = RosterClass(school)
        self.term = self.roster.term
        self.year = self.term.school_year
        self.course = self.roster.course(code(school), "物理")
        self.students = [
            self.roster.student(gender=Gender.FEMALE if n % 2 else Gender.MALE)
            for n in range(students)
        ]
        self.outcomes: list[CourseOutcome] = []
        self.performances: list[Performance] = []
        for n, student in enumerate(self.students, start=1):
            self.roster.enrol(student, self.course, score=Decimal("88"), passed=True)
            self.outcomes.append(
                CourseOutcome.objects.create(
                    school=school, student=student, enrolment=student.enrolments.get(),
                    title=f"報告{n}", description=f"成果{n}", state=OutcomeState.CERTIFIED,
                    document=stored_bytes(student, f"%PDF outcome {n}".encode(), "報告.pdf"),
                )
            )  # fmt: skip
            self.performances.append(
                Performance.objects.create(
                    school=school, student=student, school_year=self.year, category="work",
                    source=PerformanceSource.STUDENT, state=PerformanceState.SAVED,
                    name=f"作品{n}", description="說明", starts_on=dt.date(2026, 10, 1),
                    document=stored_bytes(student, f"%PDF work {n}".encode(), "work.pdf"),
                )
            )  # fmt: skip
        first = self.students[0]
        self.post = CadrePost.objects.create(
            school=school, student=first, term=self.term, unit="班級", title="班長",
            level=CadreLevel.CLASS, starts_on=self.term.starts_on, ends_on=self.term.ends_on,
        )  # fmt: skip
        self.no_id = self.roster.student(gender=Gender.MALE)
        Student.objects.filter(pk=self.no_id.pk).update(national_id="", national_id_hash="")
        self.loose = stored_bytes(first, b"%PDF loose", "loose.pdf")

    def package(self, data: bytes = b"PK workbook bytes") -> RosterPackage:
        """A built roster-1 package of the year with its workbook stored."""
        package = RosterPackage.objects.create(
            school=self.school, school_year=self.year, term=self.term, term_number=1, roster=1,
            division="day", spec_version="108", state=PackageState.BUILT,
            file_name="123456_115_1_1_20261001_08_00_00.xlsx",
        )  # fmt: skip
        package.workbook.save(
            f"{self.school.code}/{package.pk}/{package.file_name}", ContentFile(data), save=False
        )
        package.workbook_sha256 = hashlib.sha256(data).hexdigest()
        package.save()
        return package
