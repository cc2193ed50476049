"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

Never `playwright install`: the browser is the system's /usr/bin/chromium (apt package
``chromium``, installed by .ci/run). Every test here is skipped where it is absent.
"""

from pathlib import Path

import pytest
from django.core.cache import cache

CHROMIUM = Path("/usr/bin/chromium")
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} not found (apt-get install chromium)")
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args():
    return {
        "executable_path": str(CHROMIUM),
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args, live_server):
    """Every page as a browser in Taiwan would open it, on the live server."""
    return {
        **browser_context_args,
        "base_url": live_server.url,
        "locale": "zh-TW",
        "timezone_id": "Asia/Taipei",
    }


@pytest.fixture(autouse=True)
def _fresh_cache(transactional_db):
    """Sign-in rate limits count in the cache, which with REDIS_URL outlives a test run."""
    cache.clear()


@pytest.fixture(autouse=True)
def _page_timeouts(request):
    """Fail fast: a page here answers in well under a second."""
    if "page" in request.fixturenames:
        page = request.getfixturevalue("page")
        page.set_default_timeout(10_000)
        page.set_default_navigation_timeout(15_000)
