"""The simulated central database in the demo (``seed_demo``, only when the simulator is on):
instructions that make the demo school's receipts lose one line and change another, so the
receipt check finds something to show.

The two students are the first two of grade 11 whose selections are final (s031 and s032,
``submissions.demo``): their outcomes and performances go out in rosters 25 and 26, so a
receipt made after registry sends those rosters carries their lines. Running it again
changes nothing (an instruction is kept once).
"""

from centralsim import receipts
from centralsim.models import TweakAction
from portfolio.models import School
from records.models import Student

GRADE = 11
ACTIONS = (TweakAction.DROP, TweakAction.ALTER)


def seed(school: School) -> None:
    students = (
        Student.objects.filter(
            school=school,
            school_class__grade=GRADE,
            selections__locked_at__isnull=False,
        )
        .exclude(national_id_hash="")
        .distinct()
        .order_by("student_number")[: len(ACTIONS)]
    )
    for student, action in zip(students, ACTIONS, strict=False):
        receipts.tweak_add(
            school_code=school.code, national_id_text=student.national_id, action=action
        )
