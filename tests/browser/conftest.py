"""A real headless Chromium, driven through Playwright's sync API.

Chromium comes from the system package (apt-get install chromium), never from
``playwright install``. Outside CI a missing Chromium skips these tests; in CI
(CI=true) it fails them, so a broken CI image cannot pass unnoticed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import IN_CI

# Playwright's sync API runs an event loop in this thread; pytest-django's
# live_server and database calls are synchronous and safe here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path(os.environ.get("AFTERCARE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}

_saved: list[Path] = []


def _missing(reason: str):
    if IN_CI:
        pytest.fail(f"{reason}; CI must run the browser tests (apt-get install -y chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium():
    """A headless Chromium for one test module.

    Module-scoped on purpose: only one sync Playwright can run in a thread at a
    time, so each module's is stopped before the next module starts its own.
    """
    if not CHROMIUM.exists():
        _missing(f"Chromium not found at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Phone:
    page: object
    requested_urls: list[str] = field(default_factory=list)


@pytest.fixture
def phone(chromium, live_server):
    """A phone-sized page, JavaScript off like a locked-down phone, recording its requests.

    Playwright's own locators still work: they run through the DevTools
    protocol, not as page scripts.
    """
    context = chromium.new_context(**PHONE, java_script_enabled=False)
    phone = Phone(page=context.new_page())
    phone.page.on("request", lambda request: phone.requested_urls.append(request.url))
    yield phone
    context.close()


@pytest.fixture(scope="session")
def screenshot_folder():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser screenshots: {SCREENSHOTS}")
    return SCREENSHOTS


@pytest.fixture
def screenshot(screenshot_folder):
    def take(page, name: str) -> Path:
        path = screenshot_folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        _saved.append(path)
        print(f"screenshot: {path}")
        return path

    return take


@pytest.fixture(scope="module")
def desk_chromium(chromium):
    """The same browser under the name tests/browser/test_admin_browser.py asks for."""
    return chromium


def pytest_collection_modifyitems(items):
    # tests/browser/test_admin_browser.py imports its own session-long
    # Playwright (tests.admin.conftest.desk_chromium), which blocks any other
    # sync Playwright in this thread until the session ends. Until it uses the
    # fixtures here, the patient-form browser tests run first. Only the order
    # of this folder's tests changes.
    folder = Path(__file__).resolve().parent
    positions = [n for n, item in enumerate(items) if Path(item.path).parent == folder]
    block = sorted((items[n] for n in positions),
                   key=lambda item: Path(item.path).name != "test_patient_form_browser.py")
    for position, item in zip(positions, block, strict=True):
        items[position] = item


def pytest_terminal_summary(terminalreporter):
    if _saved:
        terminalreporter.write_sep("-", "browser screenshots")
        terminalreporter.write_line(f"saved {len(_saved)} screenshot(s) in {SCREENSHOTS}")
