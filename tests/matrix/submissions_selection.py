"""Rows for the student's selection for the central database: only students, each their own.

The matrix's student actors have no student record linked: the index says so (200), and a
year's pages are 404 for them as for a student of another school (whose own record would
have no such year of this school).
"""

from accounts.models import Role
from tests.matrix import only

R = Role


def _year(world):
    return {"roc_year": world["roc_year"]}


INDEX = only({R.STUDENT: 200}, outsider=200, outsider_role=R.STUDENT)
OWN_YEAR = only({R.STUDENT: 404}, outsider=404, outsider_role=R.STUDENT)

ROWS = {
    "selection:index": ("get", None, INDEX),
    "selection:select": ("get", _year, OWN_YEAR),
    "selection:preview": ("get", _year, OWN_YEAR),
    "selection:sheet": ("get", _year, OWN_YEAR),
    "selection:confirm": ("post", _year, OWN_YEAR),
}
