"""Accessibility on every page the demo school's people reach (issue 13), checked by axe-core.

Each test loads the demo school (``manage.py seed_demo``) into the live server's database,
signs in as one demo account (``homeroom`` twice: once for each role it picks on
/accounts/switch/; students ``s001``, grade 10 with items in every state, and ``s031``,
grade 11 with a selection made and a receipt to confirm), or stays signed out (the sign-in
and password-reset pages), and walks breadth-first from the home page along every
same-origin link (``a[href]``) the pages show; for ``registry`` and ``affairs`` also from
this year's rosters page, which no link leads to yet. The demo is loaded by
each test (about two seconds): the browser tests' ``transactional_db`` empties the database
after every test, so a module-wide load would not outlive the first.

Not followed: sign-out, the language switch (a form), /static/, and whatever is not a web
page: file downloads and exports (``/download/``, ``/export/``, ``?export=``, ``?format=``,
``.xlsx`` and the like, and any answer whose content type is not HTML). Links are reduced to
patterns: numbers in the path become ``<n>``, query values are dropped, and ``page`` and
``sort`` are ignored (another page or order of the same list); each pattern is visited once
per account (the first link to it found). The account pages under /accounts/
(two-factor, password; allauth's, the same for everyone but the header) are walked by
``admin``, ``s001`` and the signed-out visitor only.

Every page visited is checked by axe-core (axe-playwright-python's ``Axe().run``) three
times: in Traditional Chinese (the default) at 1280 px and at 375 px, and in English
(cookie ``django_language=en``) at 1280 px; colour contrast, the costliest rule, in the
first of them only (no colour in the CSS depends on the width or the language). At 375 px
the page must not scroll sideways (``document.documentElement.scrollWidth >
window.innerWidth``) in either language: English is loaded at 375 px for that check alone.

A test fails on any violation of impact "serious" or "critical", and on sideways scrolling,
listing every finding of its account at once: page, account and role, language, width, rule
and the offending nodes' targets. A page that answers with a server error is a finding too.
"""

import io
import re
from collections import deque
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.core.management import call_command
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from accounts.models import Membership, Role
from portal.management.commands.seed_demo import DEMO_CODE, DEMO_PASSWORD
from portfolio.lib import roc

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = 1280
PHONE = 375
HEIGHT = 800
CHINESE, ENGLISH = "zh-hant", "en"
FAILING = {"serious", "critical"}
NOT_PAGES = re.compile(
    r"^/(static|media)/|^/accounts/logout/|^/i18n/|/(download|export)/|\.(xlsx|zip|pdf|csv)$"
)
NOT_PAGE_QUERIES = {"export", "download", "format"}
SAME_PAGE_QUERIES = {"page", "sort"}
ACCOUNT_PAGES = re.compile(r"^/accounts/")
NUMBER = re.compile(r"^\d+$")
ALL_RULES = {"resultTypes": ["violations"]}
NO_CONTRAST = {**ALL_RULES, "rules": {"color-contrast": {"enabled": False}}}
TARGETS_SHOWN = 8

# The elements that stick out on the right, outside any box that scrolls or clips them:
# the innermost ones, which are the ones to fix.
STICKING_OUT = r"""() => {
  const clipped = e => {
    for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible') return true;
    }
    return false;
  };
  const out = [...document.querySelectorAll('body *')].filter(
    e => e.getBoundingClientRect().right > window.innerWidth + 1 && !clipped(e));
  return out.filter(e => !out.some(o => o !== e && e.contains(o))).slice(0, 5).map(e =>
    e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + [...e.classList].map(c => '.' + c).join('')
    + ' "' + (e.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 30) + '"');
}"""


@dataclass(frozen=True)
class Visitor:
    username: str
    role: str | None = None  # the role picked on /accounts/switch/, for an account with two
    account_pages: bool = False
    # Where the walk starts besides the home page: pages no link leads to ({year}: this
    # school year's number).
    starts: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        if not self.username:
            return "signed out"
        return f"{self.username} as {self.role}" if self.role else self.username


ROSTERS_OF_THE_YEAR = "/submissions/rosters/{year}/"
VISITORS = [
    Visitor("", account_pages=True, starts=("/accounts/login/",)),
    Visitor("admin", account_pages=True),
    Visitor("registry", starts=(ROSTERS_OF_THE_YEAR,)),
    Visitor("curriculum"),
    Visitor("affairs", starts=(ROSTERS_OF_THE_YEAR,)),
    Visitor("counsellor"),
    Visitor("consultant"),
    Visitor("homeroom", Role.HOMEROOM),
    Visitor("homeroom", Role.TEACHER),
    Visitor("teacher"),
    Visitor("group"),
    Visitor("s001", account_pages=True),
    Visitor("s031"),
]


def pattern_of(path: str, query: str) -> str:
    """``/records/students/42/?tab=x&page=2`` → ``/records/students/<n>/?tab``."""
    parts = ["<n>" if NUMBER.match(part) else part for part in path.split("/")]
    names = {name for name, _value in parse_qsl(query, keep_blank_values=True)}
    names -= SAME_PAGE_QUERIES
    return "/".join(parts) + ("?" + "&".join(sorted(names)) if names else "")


def is_page(path: str, query: str) -> bool:
    names = {name for name, _value in parse_qsl(query, keep_blank_values=True)}
    return not NOT_PAGES.search(path) and not names & NOT_PAGE_QUERIES


def sign_in(page: Page, visitor: Visitor) -> None:
    if not visitor.username:
        return
    page.goto("/accounts/login/")
    page.fill("#id_login", visitor.username)
    page.fill("#id_password", DEMO_PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert "/accounts/login/" not in page.url, f"{visitor.name} could not sign in"
    if "/switch/" not in page.url:
        return
    if visitor.role:
        membership = Membership.objects.get(
            user__username=visitor.username, school__code=DEMO_CODE, role=visitor.role
        )
        page.check(f'input[name="context"][value="{membership.pk}:"]')
    with page.expect_navigation():
        page.locator('main form button[type="submit"]').click()
    assert "/switch/" not in page.url, f"{visitor.name}: no role chosen"


class Walk:
    """One account's breadth-first walk, and what axe and the sideways check found."""

    def __init__(self, page: Page, base_url: str, visitor: Visitor):
        self.page = page
        self.origin = base_url.rstrip("/")
        self.visitor = visitor
        self.axe = Axe()
        self.findings: list[str] = []
        self.visited: list[str] = []

    def run(self) -> None:
        year = roc.current_school_year()
        queue = deque(["/", *(start.format(year=year) for start in self.visitor.starts)])
        seen = set(queue)
        patterns = {pattern_of(*urlsplit(url)[2:4]) for url in queue}
        while queue:
            for link in self.visit(queue.popleft()):
                if link in seen:
                    continue
                seen.add(link)
                parts = urlsplit(link)
                if not is_page(parts.path, parts.query):
                    continue
                if ACCOUNT_PAGES.match(parts.path) and not self.visitor.account_pages:
                    continue
                pattern = pattern_of(parts.path, parts.query)
                if pattern not in patterns:
                    patterns.add(pattern)
                    queue.append(link)

    def visit(self, url: str) -> list[str]:
        """Check ``url`` in both languages at both widths; return the links it shows."""
        self.language(CHINESE)
        self.page.set_viewport_size({"width": DESKTOP, "height": HEIGHT})
        if not self.load(url, CHINESE):
            return []
        self.visited.append(url)
        links = self.links()
        self.check(url, CHINESE, DESKTOP, ALL_RULES)
        self.page.set_viewport_size({"width": PHONE, "height": HEIGHT})
        self.check(url, CHINESE, PHONE, NO_CONTRAST)
        self.language(ENGLISH)
        if self.load(url, ENGLISH):
            self.check(url, ENGLISH, PHONE, None)
            self.page.set_viewport_size({"width": DESKTOP, "height": HEIGHT})
            self.check(url, ENGLISH, DESKTOP, NO_CONTRAST)
        return links

    def language(self, code: str) -> None:
        self.page.context.add_cookies(
            [{"name": settings.LANGUAGE_COOKIE_NAME, "value": code, "url": self.origin}]
        )

    def load(self, url: str, language: str) -> bool:
        """Open ``url``; False when it is no web page (a download) or the server failed."""
        try:
            response = self.page.goto(url)
        except PlaywrightError as error:
            if "Download is starting" in error.message:
                return False
            raise
        if response is None:
            return False
        if response.status >= 500:
            self.findings.append(f"{url} [{self.visitor.name}, {language}]: {response.status}")
            return False
        return response.headers.get("content-type", "").startswith("text/html")

    def links(self) -> list[str]:
        hrefs = self.page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        found = []
        for href in hrefs:
            if href.startswith(self.origin + "/"):
                parts = urlsplit(href)
                found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
        return found

    def axe_run(self, options: dict) -> dict:
        """axe on the page as it is; injected once per page load (the second run of a load,
        at another width, reuses it)."""
        if self.page.evaluate("() => typeof window.axe === 'object'"):
            return self.page.evaluate("options => axe.run(document, options)", options)
        return self.axe.run(self.page, options=options).response

    def check(self, url: str, language: str, width: int, options: dict | None) -> None:
        """axe with ``options`` (None: no axe), and at phone width no sideways scrolling."""
        where = f"{url} [{self.visitor.name}, {language}, {width} px]"
        violations = self.axe_run(options)["violations"] if options is not None else []
        for violation in violations:
            if violation["impact"] not in FAILING:
                continue
            nodes = violation["nodes"]
            targets = "; ".join(
                " ".join(map(str, node["target"])) for node in nodes[:TARGETS_SHOWN]
            )
            more = f" and {len(nodes) - TARGETS_SHOWN} more" if len(nodes) > TARGETS_SHOWN else ""
            self.findings.append(
                f"{where} {violation['id']} ({violation['impact']}): {targets}{more}"
            )
        if width == PHONE and self.page.evaluate(
            "document.documentElement.scrollWidth > window.innerWidth"
        ):
            self.findings.append(
                f"{where} scrolls sideways: {'; '.join(self.page.evaluate(STICKING_OUT))}"
            )


@pytest.mark.parametrize("visitor", VISITORS, ids=lambda v: v.name.replace(" ", "-"))
def test_every_page_passes_axe_in_both_languages_and_widths(live_server, page, visitor):
    call_command("seed_demo", stdout=io.StringIO())
    sign_in(page, visitor)
    walk = Walk(page, live_server.url, visitor)
    walk.run()
    assert len(walk.visited) > 3, walk.visited
    assert not walk.findings, "\n".join(walk.findings)
