"""Demo records of the offices: cadre posts of each class, three clubs with members, term-1
attendance of every student, the consultant on all three classes with a consultation
record for every student, a career-exploration record for every student, and a few
enrolment changes that leave every status as it was (enrolled).

Everything goes through the services, as the offices would enter it. Values follow from
each student's place in the roll, and each step skips what is already there, so running
it again changes nothing.
"""

import datetime as dt

from django.utils import timezone

from portfolio.models import School, SchoolYear
from records.models import (
    AttendanceSummary,
    CadrePost,
    CareerExploration,
    Club,
    ClubMembership,
    Cluster,
    Consultation,
    EnrolmentChange,
    SchoolClass,
    Student,
)
from records.services import staff as services

ORDER = 30
# (seat, post) held by the students of every class, at class level (幹部等級 2).
CLASS_POSTS = [(1, "班長"), (2, "副班長"), (3, "風紀股長"), (4, "學藝股長"), (5, "衛生股長")]
# (class, seat, unit, post, level) at school level.
SCHOOL_POSTS = [("201", 6, "學生會", "會長", "1"), ("301", 6, "學生會", "副會長", "1")]
CLUBS = ["吉他社", "程式設計社", "熱舞社"]
CLUB_SEATS = range(6, 18)  # seats 6 to 17 of each class join a club, by seat
PLACES = ["諮詢室", "圖書館討論室", "教室"]
TOPICS = [
    ("加深加廣選修怎麼選", "依興趣學群選修相關加深加廣課程，並留意大學校系參採科目。"),
    ("多元選修與自主學習計畫", "自主學習主題可延伸多元選修的內容，先訂定每週進度。"),
    ("課程學習成果如何準備", "每學期挑選能呈現思考歷程的作品，寫清楚學習反思。"),
]
CLUSTERS = list(Cluster.values)


def seed(*, school: School, year: SchoolYear, staff: dict) -> None:
    terms = {term.number: term for term in year.terms.all()}
    term1 = terms.get(1)
    if term1 is None:
        return
    students = list(
        Student.objects.filter(school=school, school_class__school_year=year)
        .select_related("school_class")
        .order_by("student_number")
    )
    _cadre_posts(school, term1, students)
    _clubs(school, year, term1, students)
    _attendance(school, term1, students)
    _consultations(school, year, staff["consultant"], students)
    _career(school, staff["counsellor"], students)
    _changes(school, term1, students)


def _cadre_posts(school, term, students) -> None:
    existing = set(
        CadrePost.objects.filter(school=school, term=term).values_list("student_id", "title")
    )
    wanted = []
    for student in students:
        class_name = student.school_class.name
        for seat, title in CLASS_POSTS:
            if student.seat_number == seat:
                wanted.append((student, class_name, title, "2"))
        for post_class, seat, unit, title, level in SCHOOL_POSTS:
            if (class_name, student.seat_number) == (post_class, seat):
                wanted.append((student, unit, title, level))
    for student, unit, title, level in wanted:
        if (student.pk, title) in existing:
            continue
        services.cadre_post_create(
            school=school,
            student=student,
            term=term,
            unit=unit,
            title=title,
            level=level,
            starts_on=term.starts_on,
            ends_on=term.ends_on,
            by=None,
        )


def _clubs(school, year, term, students) -> None:
    clubs = []
    for name in CLUBS:
        club = Club.objects.filter(school_year=year, name=name).first()
        clubs.append(
            club or services.club_create(school=school, school_year=year, name=name, by=None)
        )
    members = set(
        ClubMembership.objects.filter(club__in=clubs, term=term).values_list(
            "club_id", "student_id"
        )
    )
    presidents: dict[int, tuple[Club, Student]] = {}
    for student in students:
        if student.seat_number not in CLUB_SEATS:
            continue
        club = clubs[student.seat_number % len(clubs)]
        if (club.pk, student.pk) not in members:
            services.club_member_add(club=club, student=student, term=term, by=None)
        presidents.setdefault(club.pk, (club, student))
    # Each club's first member (by student number) is its president: a club-level post.
    for club, student in presidents.values():
        if not CadrePost.objects.filter(student=student, term=term, unit=club.name).exists():
            services.cadre_post_create(
                school=school,
                student=student,
                term=term,
                unit=club.name,
                title="社長",
                level="3",
                starts_on=term.starts_on,
                ends_on=term.ends_on,
                by=None,
            )


def _attendance(school, term, students) -> None:
    recorded = set(
        AttendanceSummary.objects.filter(school=school, term=term).values_list(
            "student_id", flat=True
        )
    )
    for n, student in enumerate(students):
        if student.pk in recorded:
            continue
        services.attendance_set(
            school=school,
            student=student,
            term=term,
            periods={
                "01": 2 if n % 5 == 0 else 0,
                "02": n % 4,
                "03": 1 + (n * 7) % 6,
                "12": 1 if n % 13 == 0 else 0,
            },
            by=None,
        )


def _consultations(school, year, consultant, students) -> None:
    for school_class in SchoolClass.objects.filter(school=school, school_year=year):
        services.school_class_consultant_add(school_class=school_class, user=consultant, by=None)
    consulted = set(
        Consultation.objects.filter(school=school, consultant=consultant).values_list(
            "student_id", flat=True
        )
    )
    now = timezone.localtime().replace(minute=0, second=0, microsecond=0)
    for n, student in enumerate(students):
        if student.pk in consulted:
            continue
        topic, advice = TOPICS[n % len(TOPICS)]
        held_at = now.replace(hour=9 + n % 7) - dt.timedelta(days=1 + n % 30)
        services.consultation_create(
            school=school,
            student=student,
            consultant=consultant,
            held_at=held_at,
            place=PLACES[n % len(PLACES)],
            content=f"與{student.name}討論{topic}。",
            advice=advice,
            by=None,
        )


def _career(school, counsellor, students) -> None:
    recorded = set(
        CareerExploration.objects.filter(school=school).values_list("student_id", flat=True)
    )
    today = timezone.localdate()
    for n, student in enumerate(students):
        if student.pk in recorded:
            continue
        chosen = [CLUSTERS[n % 18], CLUSTERS[(n * 5 + 3) % 18]]
        labels = "、".join(str(Cluster(code).label) for code in sorted(set(chosen)))
        services.career_record_create(
            school=school,
            student=student,
            counsellor=counsellor,
            held_on=today - dt.timedelta(days=1 + n % 40),
            clusters=chosen,
            content=f"完成興趣量表並參加學群講座，對{labels}有興趣；下學期參訪相關校系。",
            by=None,
        )


def _changes(school, term, students) -> None:
    """A transfer-in and a suspension with its resumption: statuses end as enrolled."""
    if len(students) < 2:
        return
    plans = {
        students[-1]: [("transfer_in", term.starts_on, "自他校轉入")],
        students[-2]: [
            ("suspend", term.starts_on + dt.timedelta(days=20), "因病休學"),
            ("resume", term.starts_on + dt.timedelta(days=50), "病癒復學"),
        ],
    }
    for student, changes in plans.items():
        if EnrolmentChange.objects.filter(student=student).exists():
            continue
        for kind, day, note in changes:
            services.enrolment_change_create(
                school=school, student=student, kind=kind, effective_on=day, note=note, by=None
            )
