"""What browser tests share: signing in (typed, or by keyboard alone), focus, files to pick, words as the page says them, the storage checked after a test."""

import datetime as dt
from pathlib import Path

from django.utils import timezone, translation
from django.utils.translation import gettext
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from accounts.models import Role
from portfolio.models import Window
from submissions.models import StoredFile
from tests.builders.files import stored_files
from tests.builders.people import PASSWORD
from tests.builders.portfolio import World


def focused(page: Page, selector: str) -> bool:
    return page.evaluate(
        "sel => !!document.activeElement && document.activeElement.matches(sel)", selector
    )


def tab_to(page: Page, selector: str, limit: int = 40) -> None:
    """Press Tab until ``selector`` has the focus, as a keyboard user would."""
    for _ in range(limit):
        if focused(page, selector):
            return
        page.keyboard.press("Tab")
    assert focused(page, selector), f"{selector} never got the focus by Tab"


def choose_file_with_keys(page: Page, selector: str, files: list[dict]) -> None:
    """Tab to the file input ``selector``, open its chooser with Space, and pick ``files``.

    Under load Chromium now and then lets a key press go by without opening the chooser;
    the press is repeated (twice at most), as a person would press again.
    """
    tab_to(page, selector)
    for attempt in range(3):
        try:
            with page.expect_file_chooser(timeout=5000) as chooser:
                page.keyboard.press("Space")
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
            assert focused(page, selector)
            continue
        chooser.value.set_files(files)
        return


def sign_in_with_keys(page: Page, username: str, password: str = PASSWORD) -> None:
    """Sign in at /accounts/login/ with the keyboard only: Tab, type, Tab, type, Enter."""
    page.goto("/accounts/login/")
    tab_to(page, "#id_login")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    assert focused(page, "#id_password")
    page.keyboard.type(password)
    with page.expect_navigation():
        page.keyboard.press("Enter")


ZH = "zh-hant"


PDF = "application/pdf"


def zh(message: str, **params) -> str:
    """``message`` as the page says it (Traditional Chinese), with its parameters."""
    with translation.override(ZH):
        text = gettext(message)
    return text % params if params else text


def file_input(name: str, data: bytes, mime: str = PDF) -> list[dict]:
    return [{"name": name, "mimeType": mime, "buffer": data}]


def on_disk(storage_dir: Path) -> set[str]:
    """The students' files in the storage folder, as storage paths."""
    return {p.relative_to(storage_dir).as_posix() for p in stored_files(storage_dir / "files")}


def assert_nothing_lost_or_left(storage_dir: Path) -> None:
    """Every file row has its file on disk and every file on disk has its row."""
    assert on_disk(storage_dir) == {s.storage_path for s in StoredFile.objects.all()}


def sign_in(page: Page, username: str) -> None:
    """Sign in at /accounts/login/ by filling the form and pressing its button."""
    page.goto("/accounts/login/")
    page.fill("#id_login", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()


def outcome_world(school) -> World:
    """tests/builders/portfolio.py's student and credited course, the upload window open now."""
    world = World(school)
    now = timezone.now()
    Window.objects.filter(pk=world.window.pk).update(
        starts_at=now - dt.timedelta(days=1), ends_at=now + dt.timedelta(days=5)
    )
    return world


def give_account(world, make_member, username: str = "amy"):
    """The world's student, with an account of her own."""
    member = make_member(world.school, Role.STUDENT, username=username)
    world.student.user = member.user
    world.student.save()
    return member


def no_sideways_scroll(page: Page) -> None:
    """Nothing scrolls sideways; when something does, the widest elements say what."""
    wide = page.evaluate(
        "() => [...document.querySelectorAll('body *')]"
        ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 5)"
        ".map(e => e.tagName + '.' + e.className + ': ' + (e.textContent || '').trim().slice(0, 40))"
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), wide
