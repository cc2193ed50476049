"""The registry's grade pre-check in Chromium: run it, read the problems, at desktop and phone
width, by keyboard."""

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from records.models import Course, CourseEnrolment, SchoolClass, Student
from tests.browser.helpers import sign_in, tab_to, zh

pytestmark = pytest.mark.browser


@pytest.fixture
def registry(school, make_member):
    member = make_member(school, Role.REGISTRY)
    term = school.years.get().terms.order_by("number").first()
    klass = SchoolClass.objects.create(
        school=school, school_year=term.school_year, name="101", grade=10
    )
    student = Student.objects.create(
        school=school, student_number="S1", name="沒有生日", school_class=klass, seat_number=1,
        national_id="A123456789",
    )  # fmt: skip
    course = Course.objects.create(
        school=school, term=term, code=f"115{school.code}H110100101010001"[:23], name="國語文",
        grade=10, credits=4,
    )  # fmt: skip
    CourseEnrolment.objects.create(school=school, student=student, course=course)
    return member


@pytest.mark.parametrize("width", [1280, 390])
def test_registry_runs_the_precheck_and_reads_the_problem(live_server, page, registry, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, registry.user.username)
    page.goto("/submissions/rosters/")
    # The pre-check file's button of the first term's grade roster.
    tab_to(page, "main form[action$='/precheck/'] button", limit=80)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.reload()  # the job ran when the request committed
    expect(page.locator("main")).to_contain_text(zh("The date of birth is missing."))
    expect(page.locator("main")).to_contain_text("沒有生日")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
