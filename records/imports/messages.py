"""What can be wrong with an import file, one code per reason.

Results keep the code and its parameters, not the sentence, so a preview computed by a
background job reads in whatever language its reader has chosen when it is shown.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _

from portfolio.lib import text

MESSAGES = {
    # The file as a whole.
    "file_unreadable": _(
        "The file could not be read. Upload an Excel workbook (.xlsx) or a CSV file."
    ),
    "file_xls": _("Old Excel files (.xls) cannot be read: save the file as .xlsx or as CSV."),
    "file_not_text": _(
        "The file cannot be read: it is neither an Excel workbook (.xlsx) nor a CSV file in "
        "UTF-8 or Big5 (CP950). Save it again as .xlsx, or as CSV in UTF-8."
    ),
    "file_not_workbook": _(
        "The file is named .xlsx but is not an Excel workbook: it may be damaged, or another "
        "kind of file renamed. Open it in Excel and save it again as .xlsx, or as CSV in UTF-8."
    ),
    "file_empty": _("The file has no header row."),
    "no_rows": _("The file has a header row but no data rows."),
    "missing_column": _("The file has no column %(column)s, which this import needs."),
    "missing_student_column": _(
        "The file needs a column 學號 (student number) or 身分證號 (national ID)."
    ),
    "term_required": _("Choose the term this file belongs to."),
    "no_school_year": _("The school has no school year %(year)s: add it on the schedule first."),
    "cell_too_large": _(
        "This row has a cell of more than %(max)s characters, more than any column holds: "
        "check that this is the right file (a quotation mark left open joins the rows after it)."
    ),
    # One cell.
    "required": _("Required: this cell is empty."),
    **{f"text_{kind}": message for kind, message in text.MESSAGES.items()},
    "encoding": _(
        "Some characters of this cell could not be read. Save the file as UTF-8 CSV or xlsx."
    ),
    "too_long": _("At most %(max)s characters; this has %(length)s."),
    "national_id_shape": _(
        "Not a national ID or resident certificate number: one letter and 9 digits "
        "(A123456789), or two letters and 8 digits."
    ),
    "national_id_checksum": _(
        "The check digit does not match: this national ID cannot exist. Look for a typing error."
    ),
    "national_id_taken": _("This national ID already belongs to another student (%(student)s)."),
    "date_shape": _("Not a date: write a 7-digit ROC date (1140116) or a date like 2025-01-16."),
    "date_invalid": _("This date does not exist: %(value)s."),
    "date_future": _("The date of birth cannot be in the future."),
    "date_too_old": _("The date of birth must be after %(earliest)s."),
    "gender": _("Write 1 or 男 for male, 2 or 女 for female."),
    "integer": _("Not a whole number."),
    "number": _("Not a number."),
    "out_of_range": _("Must be between %(min)s and %(max)s."),
    "decimals": _("At most 2 decimal places."),
    "flag": _("Write 1 or 0 (是/否, Y/N)."),
    "counts_credit": _("Write 1, 2 or 3."),
    "grade": _("The grade is 10, 11 or 12 (or 1, 2, 3)."),
    "class_grade_unknown": _(
        "The grade of class %(class)s cannot be told from its name: add a column 年級."
    ),
    "class_grade_mismatch": _(
        "Class %(class)s is grade %(existing)s in this school year, not grade %(given)s."
    ),
    "course_code_length": _("A course code has 23 characters; this has %(length)s."),
    "course_code_shape": _(
        "Not a course code: 3 digits (entry year), 6 digits (school code), then letters "
        "and digits, 23 characters in all."
    ),
    "course_code_category": _("Position 17 (course category) holds an unknown code."),
    "course_code_attribute": _("Position 19 (subject attribute) holds an unknown code."),
    "duplicate": _("Duplicate: row %(first)s already has this %(what)s."),
    "student_unknown": _("No student of this school has this %(what)s."),
    "student_mismatch": _("學號 and 身分證號 belong to different students."),
    "birth_date_mismatch": _("The date of birth differs from the student's record."),
    "course_unknown": _("Term %(term)s has no course %(course)s."),
    "course_ambiguous": _(
        "Term %(term)s has several courses with this code (開課班級 %(sections)s): "
        "fill in 開課班級."
    ),
    "teacher_unknown": _(
        "%(name)s is not an active teacher of this school. Use the teacher's username."
    ),
    "teacher_ambiguous": _("Several teachers are named %(name)s: use the username instead."),
    # Student affairs: cadre posts, clubs, attendance.
    "cadre_level": _("Write a level from 1 to 5: 1 校級, 2 班級, 3 社團, 4 實習幹部, 5 其他."),
    "cadre_end_before_start": _("The post cannot end before it starts."),
    "cadre_outside_year": _("Give a date in school year %(year)s (%(min)s to %(max)s)."),
    "cadre_outside_term": _("The post must be held during term %(term)s (%(min)s to %(max)s)."),
    "absence_kind": _(
        "Not a kind of absence: write a code from 01 to 12 or its name (公假, 事假, 病假, "
        "婚假, 產前假, 娩假, 陪產假, 流產假, 育嬰假, 生理假, 喪假, 曠課)."
    ),
}

# What a duplicate or unknown key is, for the messages above.
WHAT = {
    "student_number": _("student number (學號)"),
    "national_id": _("national ID (身分證號)"),
    "course": _("course (課程代碼 and 開課班級)"),
    "student_course": _("student and course"),
    "cadre_post": _("post (student, 單位名稱, 擔任職務 and 開始日期)"),
    "club_member": _("student and club (社團名稱)"),
    "student_kind": _("student and kind of absence (缺勤種類代碼)"),
    "student": _("student"),
}


def register(*, messages: dict[str, Any], what: dict[str, Any]) -> None:
    """Add the codes of an import kind that another app registers (see ``records.imports``)."""
    clashes = (set(messages) & set(MESSAGES)) | (set(what) & set(WHAT))
    if clashes:
        raise ValueError(f"import message codes registered twice: {sorted(clashes)}")
    MESSAGES.update(messages)
    WHAT.update(what)


def describe(code: str, params: dict[str, Any] | None = None) -> str:
    """The message of ``code`` in the active language, with its parameters filled in."""
    template = MESSAGES.get(code)
    if template is None:
        return code
    values = dict(params or {})
    if "what" in values and values["what"] in WHAT:
        values["what"] = str(WHAT[values["what"]])
    text = str(template)
    try:
        return text % values if values else text
    except (KeyError, TypeError, ValueError):
        return text
