"""Sections that apps above records add to a student's record for staff.

The record page (``records/student/student_detail.html``) lists the basic data that
records keeps, then each section registered here, in the order registered: submissions
adds the student's learning portfolio. An app registers from its ``ready()``, so that
records never imports the apps built on it.
"""

import dataclasses
from collections.abc import Callable
from typing import Any

from accounts.acting import ActingContext
from records.models import Student


@dataclasses.dataclass(frozen=True)
class RecordSection:
    anchor: str  # the section's id on the page, for the page's table of contents
    label: Any  # lazy text
    template: str
    context: Callable[[ActingContext, Student], dict[str, Any]]


SECTIONS: list[RecordSection] = []


def register(section: RecordSection) -> RecordSection:
    if any(known.anchor == section.anchor for known in SECTIONS):
        raise ValueError(f"record section {section.anchor!r} registered twice")
    SECTIONS.append(section)
    return section


def sections_for(
    acting: ActingContext, student: Student
) -> tuple[list[RecordSection], dict[str, Any]]:
    """The registered sections and the page context they need for ``student`` as the
    acting person sees them (a section may add links only some roles may follow)."""
    context: dict[str, Any] = {}
    for section in SECTIONS:
        context.update(section.context(acting, student))
    return list(SECTIONS), context
