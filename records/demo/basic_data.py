"""Demo correction requests (part C): three requests of the first two demo students,
one of them answered by the registry. Idempotent (does nothing once any exist).

Proposed as records/demo/basic_data.py; the lead places it (it is not in part C's files).
National IDs, genders and birth dates come from records/demo/students.py (ORDER 10).
"""

import datetime as dt

from portfolio.models import Window, WindowKind
from records.models import CorrectionRequest, Student
from records.services import corrections

ORDER = 40


def seed(*, school, year, staff) -> None:
    if CorrectionRequest.objects.filter(school=school).exists():
        return
    students = list(
        Student.objects.filter(school=school, school_class__school_year=year)
        .select_related("school_class", "school")
        .order_by("student_number")[:2]
    )
    window = (
        Window.objects.filter(
            school=school, term__school_year=year, kind=WindowKind.BASIC_DATA_CHECK
        )
        .order_by("starts_at")
        .first()
    )
    if window is None or len(students) < 2:
        return
    # Filed as if during the demo's basic-data check window (the service checks it).
    moment = window.starts_at + dt.timedelta(days=1)
    first, second = students
    asked = corrections.correction_request_create(
        student=first,
        about="enrolment",
        topic="出生日期",
        message="我的出生日期應為 1 月 2 日，不是 2 月 2 日。",
        by=None,
        now=moment,
    )
    corrections.correction_request_create(
        student=first,
        about="activities",
        topic="幹部經歷缺漏",
        message="上學期擔任班級風紀股長，資料中沒有。",
        by=None,
        now=moment,
    )
    corrections.correction_request_create(
        student=second,
        about="course_names",
        topic="科目名稱錯字",
        message="「生活科技」寫成「生活科學」。",
        by=None,
        now=moment,
    )
    corrections.correction_resolve(
        correction=asked, reply="已查核戶籍資料並更正，請再確認。", by=None, now=moment
    )
