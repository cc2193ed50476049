"""Rows of the homeroom teacher's class at a glance (portal/homeroom_urls.py).

As in records_classes, the matrix's homeroom actor is a fresh member who leads no class this
year: the page tells them so (200), there is nothing to export (404) and no student to remind
(400: tick at least one). A homeroom teacher
of another school, or of the other division, is in the same place. Every other role is
refused by the decorator (403).
"""

from accounts.models import Role
from tests.matrix import only

R = Role

ROWS = {
    "homeroom:matrix": (
        "get",
        None,
        only({R.HOMEROOM: 200}, outsider=200, outsider_role=R.HOMEROOM),
    ),
    "homeroom:export": (
        "get",
        None,
        only({R.HOMEROOM: 404}, outsider=404, outsider_role=R.HOMEROOM),
    ),
    "homeroom:remind": (
        "post",
        None,
        only({R.HOMEROOM: 400}, outsider=400, outsider_role=R.HOMEROOM),
    ),
}
