import pytest

from portfolio.lib import course_code, national_id


@pytest.mark.parametrize(
    "value", ["A123456789", "a123456789 ", "F131104093", "A800000014", "AC01234567"]
)
def test_valid_ids(value):
    assert national_id.is_valid(value), value
    assert national_id.problem(value) is None


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("", "empty"),
        ("A12345678", "shape"),
        ("1234567890", "shape"),
        ("A323456789", "shape"),
        ("A123456788", "checksum"),
        ("AE01234567", "shape"),
    ],
)
def test_invalid_ids(value, why):
    assert not national_id.is_valid(value)
    assert national_id.problem(value) == why


def test_mask():
    assert national_id.mask("A123456789") == "A12****789"
    assert national_id.mask("abc") == "***"


def test_course_code_parts():
    code = course_code.parse("108041305H11101A1010101")
    assert code.entry_year == 108
    assert code.school_code == "041305"
    assert code.course_type == "H"
    assert code.group == "11"
    assert code.department == "101"
    assert code.class_group == "A"
    assert code.category == "1"
    assert code.attribute == "1"
    assert code.domain == "01"
    assert code.sequence == "01"
    assert code.submits_grades


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("108041305H11101A101010", ["length"]),
        ("10804130XH11101A1010101", ["shape"]),
        ("108041305H11101AG010101", ["category"]),
        ("108041305H11101A10Z0101", ["attribute"]),
    ],
)
def test_course_code_problems(text, keys):
    assert course_code.problems(text) == keys


def test_course_code_school_segment():
    assert course_code.problems("108041305H11101A1010101", school_code="999001") == ["school"]
    assert course_code.problems("108041305H11101A1010101", school_code="041305") == []


def test_group_activity_grades_need_attribute_d():
    assert not course_code.parse("108041305H11101A8010101").submits_grades
    assert course_code.parse("108041305H11101A80D0101").submits_grades
