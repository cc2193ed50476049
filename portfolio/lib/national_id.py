"""Taiwan's national ID (身分證統一編號) and resident-certificate numbers.

All share one checksum: the leading letter becomes two digits (A=10 … Z=33, with I, O,
W and X out of sequence), the digits are weighted 1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1 and
the sum must be a multiple of 10. Formats accepted:

- national ID: a letter, 1 or 2 (sex), 7 digits, a check digit: ``A123456789``;
- resident certificate since 2021: a letter, 8 or 9, 7 digits, a check digit;
- resident certificate before 2021: two letters (the second A-D), 7 digits, a check digit.
"""

import re

LETTER_CODES = {
    "A": 10, "B": 11, "C": 12, "D": 13, "E": 14, "F": 15, "G": 16, "H": 17, "I": 34,
    "J": 18, "K": 19, "L": 20, "M": 21, "N": 22, "O": 35, "P": 23, "Q": 24, "R": 25,
    "S": 26, "T": 27, "U": 28, "V": 29, "W": 32, "X": 30, "Y": 31, "Z": 33,
}  # fmt: skip
_NATIONAL = re.compile(r"^[A-Z][1289]\d{8}$")
_OLD_RESIDENT = re.compile(r"^[A-Z][A-D]\d{8}$")
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 1, 1)


def normalize(text: str) -> str:
    return text.strip().upper()


def is_valid(text: str) -> bool:
    value = normalize(text)
    if _NATIONAL.match(value):
        second = int(value[1])
    elif _OLD_RESIDENT.match(value):
        second = LETTER_CODES[value[1]] % 10
    else:
        return False
    first = LETTER_CODES[value[0]]
    digits = [second, *(int(c) for c in value[2:])]
    total = (
        first // 10 + (first % 10) * 9 + sum(d * w for d, w in zip(digits, _WEIGHTS, strict=True))
    )
    return total % 10 == 0


def problem(text: str) -> str | None:
    """Why ``text`` is not a valid number, as a message key; None when valid."""
    value = normalize(text)
    if not value:
        return "empty"
    if not (_NATIONAL.match(value) or _OLD_RESIDENT.match(value)):
        return "shape"
    if not is_valid(value):
        return "checksum"
    return None


def mask(text: str) -> str:
    """Shown on screen: ``A123456789`` becomes ``A12****789``."""
    value = normalize(text)
    if len(value) < 7:
        return "*" * len(value)
    return f"{value[:3]}{'*' * (len(value) - 6)}{value[-3:]}"
