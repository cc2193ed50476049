"""What every transport sends and answers: the outgoing workbook, the central database's
answer, and the one error a transport raises."""

import dataclasses
import enum
from collections.abc import Callable
from typing import Any, BinaryIO


@dataclasses.dataclass(frozen=True)
class Outgoing:
    """One roster workbook on its way to the central database."""

    school_code: str
    roc_year: int
    term: int  # 0 for yearly rosters
    roster: int  # 名冊別
    file_name: str  # the central file name (.xlsx)
    open: Callable[[], BinaryIO]  # opens the workbook for reading (binary)
    sha256: str  # lower-case hex of the workbook, already known


class AnswerState(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


@dataclasses.dataclass(frozen=True)
class Answer:
    """What the central database says of a sent workbook, when polled."""

    state: AnswerState
    # Each {"roster": int | str, "row": int | None, "field": str, "message": str,
    # "codes": list[str]}.
    errors: list[dict[str, Any]]
    raw: dict[str, Any]  # the status response as received (kept for the record)


class TransportError(Exception):
    """The central database could not be reached or answered nonsense. The message says
    what, in English, for the log; it never holds a key or a secret."""


@dataclasses.dataclass(frozen=True)
class FetchedReceipt:
    """A receipt (收訖明細) as the central database handed it over, with its password (kept
    in memory only)."""

    name: str
    data: bytes
    password: str = dataclasses.field(repr=False)
