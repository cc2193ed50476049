"""Rows of the notices pages (portal/notices_urls.py): every signed-in person has their own
list and e-mail settings in the school they act in, so every actor gets 200 (another
school's person, with their own notices); only the anonymous are sent to sign in."""

from tests.matrix import everyone

ROWS = {
    "notices:index": ("get", None, everyone(200, anon=302)),
    "notices:settings": ("get", None, everyone(200, anon=302)),
}
