"""Fill the demo school (code 999001) for trying the platform. Safe to run again."""

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Deputy, Division, Membership, Role, User
from centralsim import demo as centralsim_demo
from certification import demo as certification_demo
from portfolio import services
from portfolio.lib import roc
from portfolio.models import School, SchoolYear, Window, WindowKind
from records import demo as records_demo
from records.models import SchoolClass, Student
from records.services import students as record_services
from submissions import demo as submissions_demo

DEMO_CODE = "999001"
DEMO_PASSWORD = "portfolio-demo"  # noqa: S105 - the documented demo password
STAFF = [
    ("admin", "王管理", Role.SCHOOL_ADMIN),
    ("registry", "李註冊", Role.REGISTRY),
    ("curriculum", "陳教學", Role.CURRICULUM),
    ("affairs", "林學務", Role.STUDENT_AFFAIRS),
    ("counsellor", "黃輔導", Role.COUNSELLOR),
    ("consultant", "張諮詢", Role.CONSULTANT),
    ("homeroom", "吳導師", Role.HOMEROOM),
    ("teacher", "劉任課", Role.TEACHER),
    ("group", "蔡小組", Role.WORKING_GROUP),
]
CLASSES = [("101", 10), ("201", 11), ("301", 12)]
SURNAMES = "陳林黃張李王吳劉蔡楊許鄭謝郭洪曾邱廖賴周"
GIVEN = [
    "家豪",
    "雅婷",
    "志明",
    "淑芬",
    "冠宇",
    "怡君",
    "承恩",
    "佳穎",
    "柏翰",
    "詩涵",
    "宇軒",
    "欣妤",
    "俊傑",
    "思妤",
    "彥廷",
]


def demo_windows(year: SchoolYear) -> list[dict]:
    """A realistic schedule for the year, placed by the year's own dates."""
    y = year.roc_year + roc.ROC_OFFSET
    tz = timezone.get_current_timezone()

    def at(year_, month, day, hour=0, minute=0):
        return dt.datetime(year_, month, day, hour, minute, tzinfo=tz)

    def last_minute(year_, month, day):
        return at(year_, month, day, 23, 59)

    k = WindowKind
    # (term, kind, grade, opens, closes, extra)
    rows: list[tuple[int, str, int | None, dt.datetime, dt.datetime, dict[str, Any]]] = [
        (1, k.COURSE_CODE_CHECK, None, at(y, 8, 30), last_minute(y, 9, 26), {}),
        (1, k.BASIC_DATA_CHECK, None, at(y, 10, 1), last_minute(y, 10, 31),
         {"self_check_on": dt.date(y, 10, 24)}),
        (1, k.PERFORMANCE_UPLOAD, None, at(y, 9, 1), last_minute(y + 1, 2, 3), {}),
        (1, k.OUTCOME_UPLOAD, None, at(y, 11, 1), last_minute(y + 1, 2, 3),
         {"self_check_on": dt.date(y + 1, 1, 27)}),
        (1, k.CERTIFICATION, None, at(y, 11, 15), last_minute(y + 1, 2, 17), {}),
        (1, k.SUBMISSION, None, at(y + 1, 2, 18), last_minute(y + 1, 3, 10), {}),
        (1, k.RECEIPT_CONFIRMATION, None, at(y + 1, 3, 20), last_minute(y + 1, 3, 27), {}),
        (2, k.COURSE_CODE_CHECK, None, at(y + 1, 2, 11), last_minute(y + 1, 3, 10), {}),
        (2, k.OUTCOME_UPLOAD, 12, at(y + 1, 4, 1), last_minute(y + 1, 5, 20),
         {"note": "三年級第 2 學期提前截止"}),
        (2, k.OUTCOME_UPLOAD, 10, at(y + 1, 4, 1), last_minute(y + 1, 7, 14), {}),
        (2, k.OUTCOME_UPLOAD, 11, at(y + 1, 4, 1), last_minute(y + 1, 7, 14), {}),
        (2, k.CERTIFICATION, None, at(y + 1, 4, 15), last_minute(y + 1, 7, 28), {}),
        (2, k.PERFORMANCE_UPLOAD, None, at(y + 1, 2, 11), last_minute(y + 1, 7, 14), {}),
        (2, k.SELECTION, None, at(y + 1, 7, 1), last_minute(y + 1, 7, 25), {}),
        (2, k.RECEIPT_CONFIRMATION, None, at(y + 1, 7, 26), last_minute(y + 1, 7, 31), {}),
    ]  # fmt: skip
    return [
        {"term": term, "kind": kind, "grade": grade, "starts_at": opens, "ends_at": closes, **extra}
        for term, kind, grade, opens, closes, extra in rows
    ]


class Command(BaseCommand):
    help = "Create or complete the demo school 999001 with one account per role and 90 students."

    @transaction.atomic
    def handle(self, *args, **options):
        school = School.objects.filter(code=DEMO_CODE).first() or services.school_create(
            code=DEMO_CODE, name="示範高級中學", name_en="Demo Senior High School", by=None
        )
        roc_year = roc.current_school_year()
        year = SchoolYear.objects.filter(school=school, roc_year=roc_year).first()
        if year is None:
            year = services.school_year_create(
                school=school, roc_year=roc_year, terms=self._terms(roc_year), by=None
            )
        self._windows(year)
        password_hash = make_password(DEMO_PASSWORD)
        staff = {
            username: self._member(school, username, name, role, password_hash)
            for username, name, role in STAFF
        }
        self._extra_roles(school, staff)
        self._students(school, year, staff["homeroom"], password_hash)
        records_demo.seed_all(school=school, year=year, staff=staff)
        submissions_demo.seed(school=school, year=year, staff=staff)
        certification_demo.seed(school=school, year=year, staff=staff)
        certification_demo.seed_notices(school=school, staff=staff)
        if settings.CENTRAL_SIMULATOR:
            centralsim_demo.seed(school)
        services.window_states_apply()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo school {DEMO_CODE} ready for school year {roc_year}; "
                f"sign in with any demo account and the password {DEMO_PASSWORD}."
            )
        )

    def _terms(self, roc_year: int) -> list[dict]:
        y = roc_year + roc.ROC_OFFSET
        return [
            {
                "number": 1,
                "starts_on": dt.date(y, 8, 30),
                "closing_day": dt.date(y + 1, 1, 20),
                "ends_on": dt.date(y + 1, 1, 31),
            },
            {
                "number": 2,
                "starts_on": dt.date(y + 1, 2, 11),
                "closing_day": dt.date(y + 1, 6, 30),
                "ends_on": dt.date(y + 1, 7, 31),
            },
        ]

    def _windows(self, year: SchoolYear) -> None:
        terms = {term.number: term for term in year.terms.all()}
        for spec in demo_windows(year):
            spec = dict(spec)
            term = terms[spec.pop("term")]
            if Window.objects.filter(term=term, kind=spec["kind"], grade=spec["grade"]).exists():
                continue
            services.window_create(term=term, by=None, **spec)

    def _member(
        self, school: School, username: str, name: str, role: str, password_hash: str
    ) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            return account_services.member_create(
                school=school,
                username=username,
                name=name,
                email=f"{username}@demo.example.edu.tw",
                password="",
                password_hash=password_hash,
                role=role,
                division=Division.DAY,
                by=None,
            ).user
        if not Membership.objects.filter(user=user, school=school, role=role).exists():
            account_services.membership_add(
                school=school, user=user, role=role, division=Division.DAY, by=None
            )
        return user

    def _extra_roles(self, school: School, staff: dict[str, User]) -> None:
        # A homeroom teacher also teaches: the demo shows picking a role after sign-in.
        if not Membership.objects.filter(
            user=staff["homeroom"], school=school, role=Role.TEACHER
        ).exists():
            account_services.membership_add(
                school=school,
                user=staff["homeroom"],
                role=Role.TEACHER,
                division=Division.DAY,
                by=None,
            )
        # The curriculum clerk is the registry clerk's first deputy this school year.
        if not Deputy.objects.filter(school=school, principal=staff["registry"]).exists():
            year_start, year_end = roc.school_year_bounds(roc.current_school_year())
            account_services.deputy_create(
                school=school,
                role=Role.REGISTRY,
                division=Division.DAY,
                principal=staff["registry"],
                deputy=staff["curriculum"],
                order=1,
                starts_on=year_start,
                ends_on=year_end,
                by=None,
            )

    def _students(
        self, school: School, year: SchoolYear, homeroom: User, password_hash: str
    ) -> None:
        number = 0
        for class_name, grade in CLASSES:
            school_class = SchoolClass.objects.filter(school_year=year, name=class_name).first()
            if school_class is None:
                school_class = record_services.school_class_create(
                    school=school,
                    school_year=year,
                    name=class_name,
                    grade=grade,
                    division=Division.DAY,
                    homeroom_teacher=homeroom if grade == 10 else None,
                    by=None,
                )
            for seat in range(1, 31):
                number += 1
                username = f"s{number:03d}"
                name = SURNAMES[number % len(SURNAMES)] + GIVEN[number % len(GIVEN)]
                user = self._member(school, username, name, Role.STUDENT, password_hash)
                student_number = f"{year.roc_year - (grade - 10)}{number:04d}"
                if not Student.objects.filter(school=school, user=user).exists():
                    record_services.student_create(
                        school=school,
                        student_number=student_number,
                        name=name,
                        school_class=school_class,
                        seat_number=seat,
                        user=user,
                        by=None,
                    )
