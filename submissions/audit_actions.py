"""Audit actions of what students submit and the files behind it."""

from django.utils.translation import gettext_lazy as _

from portfolio.audit import register_actions

register_actions(
    "portfolio",
    _("Students' portfolios"),
    {
        "outcome.upload": _("Course outcome uploaded"),
        "outcome.edit": _("Course outcome's title or description changed"),
        "outcome.replace_file": _("Course outcome's file replaced"),
        "outcome.restore_file": _("Certified course outcome's lost file uploaded again"),
        "outcome.submit": _("Course outcome sent for certification"),
        "outcome.withdraw": _("Course outcome withdrawn"),
        "performance.add": _("Diverse performance added by the student"),
        "performance.edit": _("Diverse performance changed by the student"),
        "performance.withdraw": _("Diverse performance withdrawn"),
        "performance.enter": _("Diverse performance entered by an office"),
        "performance.staff_edit": _("Office-entered performance changed"),
        "performance.staff_delete": _("Office-entered performance removed"),
        "window.extend": _("Window opened again for one student (upload or selection)"),
        "window.extension_end": _("Window opened for one student ended early"),
    },
)
register_actions(
    "selection",
    _("Selection for the central database"),
    {
        "selection.save": _("Selection saved by the student"),
        "selection.confirm": _("Selection confirmed by the student"),
        "selection.lock": _("Selection made final when its window closed"),
    },
)
register_actions(
    "rosters",
    _("Rosters for the central database"),
    {
        "roster.build": _("Roster build started"),
        "roster.submit": _("Roster submitted to the central database"),
        "roster.send": _("Roster sent to the central database by the platform"),
        "roster.answer": _("Central database's answer to a roster recorded"),
        "roster.reopen": _("Submitted roster reopened for resubmission"),
    },
)
register_actions(
    "files",
    _("Files"),
    {
        "file.view": _("A student's file opened by staff"),
        "files.sweep": _("Nightly check of the stored files"),
    },
)
register_actions(
    "receipts",
    _("Receipts from the central database"),
    {
        "receipt.import": _("Receipt imported and compared with what was sent"),
        "receipt.release": _("Receipt released to the students"),
        "receipt.answer": _("Receipt confirmed or disputed (by the student, or a paper reply)"),
        "receipt.dispute_reply": _("Disputed receipt line answered by the office"),
        "receipt.deemed": _("Student deemed to have confirmed the receipt"),
        "receipt.remind": _("Students reminded to check their receipt"),
        "receipt.letters": _("Receipt letters printed for students who have left"),
    },
)
register_actions(
    "school_export",
    _("The school's data export"),
    {
        "school_export.start": _("Export of the whole school's data started"),
        "school_export.download": _("Export of the whole school's data downloaded"),
    },
)
