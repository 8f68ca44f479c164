import os
from pathlib import Path

import pytest

from headless_chromium import INSTALL_HINT, Browser, find_browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "out" / "explorer"


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium per test process. Missing Chromium (or Selenium) skips the browser tests
    on a developer's machine and fails them in CI (where `make test` installs both)."""
    try:
        import selenium  # noqa: F401
        missing = find_browser() is None
    except ImportError:
        missing = True
    if missing:
        if os.environ.get("CI"):
            pytest.fail(INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    b = Browser()
    b.driver.get("about:blank")
    b.console_errors(), b.requests()  # what the browser did at start-up is not the page's
    yield b
    b.close()


@pytest.fixture(scope="session")
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
