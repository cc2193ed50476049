"""The main navigation: which pages each acting role reaches from every page."""

import dataclasses

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.acting import ActingContext
from accounts.models import Role

R = Role
OFFICES = (R.REGISTRY, R.CURRICULUM, R.STUDENT_AFFAIRS, R.COUNSELLOR)


@dataclasses.dataclass(frozen=True)
class Link:
    url_name: str
    label: str | Promise
    roles: tuple[str, ...]


LINKS = [
    Link("outcomes:portfolio", _("My portfolio"), (R.STUDENT,)),
    Link("selection:index", _("Select for the central database"), (R.STUDENT,)),
    Link("receipts:mine", _("My receipt"), (R.STUDENT,)),
    Link("basicdata:mine", _("My basic data"), (R.STUDENT,)),
    Link("certification:queue", _("Certification queue"), (R.TEACHER,)),
    Link("homeroom:matrix", _("Class at a glance"), (R.HOMEROOM,)),
    Link("progress:index", _("Progress"), (R.WORKING_GROUP, R.REGISTRY)),
    Link("certification:proxy", _("Proxy certification"), (R.REGISTRY,)),
    Link("accounts:members", _("Members"), (R.SCHOOL_ADMIN,)),
    Link("accounts:deputies", _("Deputies"), (R.SCHOOL_ADMIN,)),
    Link("portal:schedule", _("Schedule and policy"), (R.SCHOOL_ADMIN,)),
    Link("portal:audit", _("Audit log"), (R.SCHOOL_ADMIN,)),
    Link("schoolexport:index", _("Export the school's data"), (R.SCHOOL_ADMIN,)),
    Link("imports:index", _("Imports"), (R.REGISTRY, R.CURRICULUM, R.STUDENT_AFFAIRS)),
    Link("classes:list", _("Classes"), (R.REGISTRY, R.CURRICULUM)),
    Link("courses:list", _("Courses"), (R.CURRICULUM, R.REGISTRY)),
    Link("courses:check", _("Course-code check"), (R.CURRICULUM, R.REGISTRY)),
    Link("staffrecords:change_list", _("Enrolment changes"), (R.REGISTRY,)),
    Link("extensions:list", _("Window extensions"), (R.REGISTRY,)),
    Link("rosters:index", _("Rosters for the central database"), (R.REGISTRY, R.STUDENT_AFFAIRS)),
    Link("receipts:index", _("Receipts from the central database"), (R.REGISTRY,)),
    Link("receipts:disputes", _("Disputed receipt lines"), (R.REGISTRY, R.STUDENT_AFFAIRS)),
    Link("staffrecords:cadre_list", _("Cadre posts"), (R.STUDENT_AFFAIRS,)),
    Link("staffrecords:club_list", _("Clubs"), (R.STUDENT_AFFAIRS,)),
    Link("staffrecords:attendance_list", _("Attendance"), (R.STUDENT_AFFAIRS,)),
    Link("staffrecords:consultation_students", _("My students"), (R.CONSULTANT,)),
    Link("staffrecords:consultation_list", _("Consultation records"), (R.CONSULTANT,)),
    Link("staffrecords:career_list", _("Career exploration"), (R.COUNSELLOR,)),
    Link("staffrecords:roster", _("Class roster"), (R.HOMEROOM,)),
    Link("basicdata:corrections", _("Correction requests"), OFFICES),
    Link("performances:staff_list", _("School-entered performances"), OFFICES),
]


def links_for(acting: ActingContext | None) -> list[tuple[str, str | Promise]]:
    """(url, label) pairs for the acting role, home first, the published schedule last."""
    if acting is None:
        return []
    found: list[tuple[str, str | Promise]] = [(reverse("home"), _("Home"))]
    found += [(reverse(link.url_name), link.label) for link in LINKS if acting.role in link.roles]
    found.append(
        (reverse("portal:public_schedule", args=[acting.school.code]), _("Published schedule"))
    )
    return found
