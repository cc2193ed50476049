"""Text people type, paste or import: the characters it may not hold.

Control characters (C0, DEL and C1) are invisible, nobody means to type them, and a
worksheet cannot hold most of them (an export of the row would fail); PostgreSQL refuses
NUL outright. Tab and line breaks are allowed where text has several lines. Bidirectional
overrides and isolates (U+202A to U+202E, U+2066 to U+2069) make text display in another
order than it is stored, the trick behind spoofed names and file names ("Trojan Source").
"""

import dataclasses
import re

from django.utils.translation import gettext_lazy as _

LINE_CHARACTERS = "\t\n\r"  # a browser sends a textarea's line breaks as CR LF
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_FORBIDDEN = re.compile(f"[\x00-\x1f\x7f-\x9f{BIDI_CONTROLS}]")
_FORBIDDEN_MULTILINE = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{BIDI_CONTROLS}]")


# Why a text is refused, by kind; %(code)s is the character's code point (U+001B).
MESSAGES = {
    "line": _("Write this on one line: remove the line break or tab."),
    "control": _(
        "Remove the invisible control character %(code)s: it cannot be saved. It may have "
        "come with text pasted from another program."
    ),
    "bidi": _(
        "Remove the direction control %(code)s: it makes text show in another order than "
        "it is stored."
    ),
}


@dataclasses.dataclass(frozen=True)
class Forbidden:
    """The first character a text may not hold, and of which kind it is."""

    char: str

    @property
    def kind(self) -> str:
        """``line`` (a tab or line break in one-line text), ``bidi`` or ``control``."""
        if self.char in LINE_CHARACTERS:
            return "line"
        return "bidi" if self.char in BIDI_CONTROLS else "control"

    @property
    def code_point(self) -> str:
        return f"U+{ord(self.char):04X}"

    @property
    def message(self) -> str:
        """Why the text is refused, in the active language."""
        return str(MESSAGES[self.kind]) % {"code": self.code_point}


def forbidden_character(text: str, *, multiline: bool = False) -> Forbidden | None:
    """The first character of ``text`` that it may not hold, or None."""
    match = (_FORBIDDEN_MULTILINE if multiline else _FORBIDDEN).search(text)
    return Forbidden(match.group()) if match else None


def without_forbidden(text: str, *, multiline: bool = False) -> str:
    """``text`` with those characters removed: for what is only read, like a search."""
    return (_FORBIDDEN_MULTILINE if multiline else _FORBIDDEN).sub("", text)


def search_text(value: object, *, max_length: int = 100) -> str:
    """A search box's text from an address: trimmed, without those characters, and cut
    to ``max_length`` (nothing longer matches a name or a code)."""
    if not isinstance(value, str):
        return ""
    return without_forbidden(value).strip()[:max_length]
