"""Headless Chromium driven by Selenium, for the explorer's page tests (and scripts/render_readme_graphs.py).

Debian's ``chromium`` and ``chromium-driver`` (``make test`` installs them) are used as they are:
no driver or browser is downloaded (Selenium Manager is never asked: the driver's path is given).
Chromium runs headless, without sandbox, GPU, background networking, component updates, sync or
first-run, in a fresh profile directory: these machines refuse outgoing connections anyway, and a
page that tries one is caught by the tests (every request is in the performance log).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
DRIVER_NAMES = ("chromedriver",)
INSTALL_HINT = ("the explorer's browser tests need Chromium and its driver: `apt-get install chromium "
                "chromium-driver` (Debian/Ubuntu; `make test` does it as root) and `pip install selenium` "
                "(the `browser` extra)")


def find_browser():
    """(chromium path, chromedriver path), or None when either is missing."""
    browser = os.environ.get("CHROMIUM") or next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    driver = os.environ.get("CHROMEDRIVER") or next(filter(None, map(shutil.which, DRIVER_NAMES)), None)
    return (browser, driver) if browser and driver else None


class Browser:
    """One headless Chromium; ``open(path)`` loads a local file and returns the driver."""

    def __init__(self, width=1400, height=900):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        found = find_browser()
        if found is None:
            raise RuntimeError(INSTALL_HINT)
        browser, driver = found
        self.profile = tempfile.mkdtemp(prefix="chainrule-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                     "--disable-extensions", "--disable-default-apps", "--no-default-browser-check",
                     "--allow-file-access-from-files", f"--window-size={width},{height}",
                     f"--user-data-dir={self.profile}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager, were it ever asked, must not download
        self.driver = webdriver.Chrome(service=Service(executable_path=driver), options=options)
        self.driver.set_page_load_timeout(60)

    def viewport(self, width, height):
        """Make the page's viewport exactly ``width`` x ``height`` CSS pixels (for screenshots)."""
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def open(self, path):
        self.driver.get("file://" + os.path.abspath(path))
        return self.driver

    def console_errors(self):
        """The console's warnings and errors since the last call (SEVERE and WARNING entries)."""
        return [e for e in self.driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]

    def requests(self):
        """The URLs the pages asked for since the last call (from the performance log)."""
        urls = []
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                urls.append(message["params"]["request"]["url"])
        return urls

    def close(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)
