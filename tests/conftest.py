"""Shared pytest configuration. Sections are independent; append new ones below."""
from __future__ import annotations

import shutil

import pytest


# -- dashboard browser tests (tests/test_dashboard_e2e.py) -----------------------------------------
# dash's testing plugin (pip install "dash[testing]") drives Chrome through selenium; it asks
# this hook for the browser options. Debian's chromium (apt-get install chromium
# chromium-driver) runs as root only with --no-sandbox, and on a closed network only with the
# background-networking flags; headless is forced so a plain `pytest` works without a display
# (dash's own --headless flag is accepted too).
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--disable-quic", "--no-first-run",
    "--mute-audio", "--hide-scrollbars", "--window-size=1440,1000", "--force-device-scale-factor=1",
)


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.hookimpl(optionalhook=True)
def pytest_setup_options():
    from selenium.webdriver.chrome.options import Options
    options = Options()
    binary = chromium_binary()
    if binary:
        options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    return options      # pluggy collects it into the list dash's Browser reads [0] of
