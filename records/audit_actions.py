"""Audit actions of the school records (imports register their own, one per kind)."""

from django.utils.translation import gettext_lazy as _

from portfolio.audit import register_actions

register_actions(
    "students",
    _("Students, classes and basic data"),
    {
        "student.create": _("Student added"),
        "student.update": _("Student's basic data changed"),
        "student.status": _("Student's enrolment status followed a change"),
        "national_id.view": _("National ID shown in full"),
        "class.create": _("Class added"),
        "class.homeroom": _("Homeroom teacher set"),
        "class.consultant_add": _("Course consultant added to a class"),
        "class.consultant_remove": _("Course consultant removed from a class"),
        "enrolment_change.create": _("Enrolment change recorded"),
        "enrolment_change.update": _("Enrolment change corrected"),
        "enrolment_change.delete": _("Enrolment change removed"),
        "correction.create": _("Correction requested by a student"),
        "correction.forward": _("Correction request sent on to another office"),
        "correction.resolve": _("Correction request answered"),
    },
)
register_actions(
    "courses",
    _("Courses and grades"),
    {
        "course.create": _("Course added"),
        "course.update": _("Course changed"),
        "course.delete": _("Course removed"),
        "course_code_list.upload": _("Official course-code list uploaded"),
        "course_code_check.run": _("Course-code check run"),
        "course_enrolment.add": _("Student added to a course"),
        "course_enrolment.remove": _("Student removed from a course"),
        "course_enrolment.grade_update": _("Grade changed"),
    },
)
register_actions(
    "activities",
    _("Offices' records"),
    {
        "cadre_post.create": _("Cadre post recorded"),
        "cadre_post.update": _("Cadre post changed"),
        "cadre_post.delete": _("Cadre post removed"),
        "club.create": _("Club added"),
        "club.update": _("Club renamed"),
        "club.delete": _("Club removed"),
        "club_membership.create": _("Student joined a club"),
        "club_membership.delete": _("Student left a club"),
        "club_membership.copy": _("Club members copied into the next term"),
        "attendance.set": _("Attendance recorded"),
        "consultation.create": _("Consultation recorded"),
        "consultation.update": _("Consultation record changed"),
        "consultation.delete": _("Consultation record removed"),
        "career_record.create": _("Career exploration recorded"),
        "career_record.update": _("Career exploration changed"),
        "career_record.delete": _("Career exploration removed"),
    },
)
