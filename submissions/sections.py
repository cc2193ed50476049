"""The student's learning portfolio as a section of the student's record for staff."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.acting import ActingContext
from accounts.models import Role
from records.models import Student
from records.sections import RecordSection, register
from submissions.selectors import portfolio_for
from submissions.services.extensions import GRANT_ROLES


def _portfolio(acting: ActingContext, student: Student) -> dict:
    return {
        "portfolio": portfolio_for(student, now=timezone.now()),
        "may_open_window_late": acting.role in GRANT_ROLES,
        # The registry reopens a teacher's decision (certification:reopen).
        "may_reopen": acting.role == Role.REGISTRY,
    }


register(
    RecordSection(
        anchor="portfolio",
        label=_("Learning portfolio"),
        template="submissions/_staff_portfolio.html",
        context=_portfolio,
    )
)
