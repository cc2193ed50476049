"""The 23-character course code (課程代碼) of the 108 curriculum.

Positions (1-based): 1-3 entry year, 4-9 school code, 10 course type, 11-12 group,
13-15 department, 16 class group, 17 course category, 18 delivery, 19 subject
attribute, 20-21 domain, 22-23 sequence. Source: the central database's code tables
(see shared/CENTRAL-FORMAT.md); the meanings of some positions are inferred.
"""

import dataclasses
import re

LENGTH = 23
CATEGORIES = {
    "1": "部定必修", "2": "校訂必修", "3": "加深加廣選修", "4": "補強性選修", "5": "多元選修",
    "6": "其他", "7": "校訂選修", "8": "團體活動時間", "9": "彈性學習時間", "A": "大學預修課程",
    "B": "基礎訓練", "C": "職前訓練", "D": "寒暑假課程", "E": "返校課程", "F": "職業技能訓練",
}  # fmt: skip
ATTRIBUTES = {
    "0": "不分屬性", "1": "一般科目", "2": "專業科目", "3": "實習科目", "4": "專精科目",
    "5": "專精科目(核心科目)", "6": "特殊需求領域", "A": "自主學習", "B": "選手培訓",
    "C": "充實(增廣)/補強性教學(不授予學分)", "D": "充實(增廣)/補強性教學(授予學分)",
    "E": "學校特色活動", "F": "專精(專業)", "G": "專精(實習)", "H": "專精(專業)(核心)",
    "I": "專精(實習)(核心)",
}  # fmt: skip
_SHAPE = re.compile(
    r"^\d{3}\d{6}[A-Z][0-9A-Z]{2}[0-9A-Z]{3}[0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z]{2}[0-9A-Z]{2}$"
)


@dataclasses.dataclass(frozen=True)
class CourseCode:
    code: str

    @property
    def entry_year(self) -> int:
        return int(self.code[0:3])

    @property
    def school_code(self) -> str:
        return self.code[3:9]

    @property
    def course_type(self) -> str:
        return self.code[9]

    @property
    def group(self) -> str:
        return self.code[10:12]

    @property
    def department(self) -> str:
        return self.code[12:15]

    @property
    def class_group(self) -> str:
        return self.code[15]

    @property
    def category(self) -> str:
        return self.code[16]

    @property
    def delivery(self) -> str:
        return self.code[17]

    @property
    def attribute(self) -> str:
        return self.code[18]

    @property
    def domain(self) -> str:
        return self.code[19:21]

    @property
    def sequence(self) -> str:
        return self.code[21:23]

    @property
    def submits_grades(self) -> bool:
        """Group-activity (8) and flexible-learning (9) rows go to the grade roster only
        with subject attribute D (the central database's pre-check rule)."""
        return self.category not in {"8", "9"} or self.attribute == "D"


def normalize(text: str) -> str:
    return text.strip().upper()


def problems(text: str, *, school_code: str | None = None) -> list[str]:
    """Message keys for what is wrong with ``text``: empty when it is a good code.

    Keys: ``length``, ``shape``, ``category``, ``attribute``, ``school``.
    """
    value = normalize(text)
    if len(value) != LENGTH:
        return ["length"]
    if not _SHAPE.match(value):
        return ["shape"]
    found = []
    code = CourseCode(value)
    if code.category not in CATEGORIES:
        found.append("category")
    if code.attribute not in ATTRIBUTES:
        found.append("attribute")
    if school_code is not None and code.school_code != school_code:
        found.append("school")
    return found


def parse(text: str) -> CourseCode:
    value = normalize(text)
    if problems(value):
        raise ValueError(f"not a course code: {text!r}")
    return CourseCode(value)
