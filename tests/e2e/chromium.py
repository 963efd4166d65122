"""Headless Debian Chromium for the page tests, started the way this machine needs it.

The flags keep Chromium from reaching out (the network is closed: background networking,
component updates and sync would fail at every start) and from needing a sandbox as root.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def start_chromium(profile: Path, window: str = "1400,1300") -> WebDriver:
    """A fresh headless Chromium with its own profile folder; the caller quits it."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("Debian chromium and chromium-driver are missing: run 'make browser'")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--window-size={window}", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=ChromeService(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    return driver


def sign_in(browser: WebDriver, url: str, token: str, department: str) -> WebDriverWait:  # type: ignore[type-arg]
    """Open the page, paste a department token, and wait until the page names the department."""
    wait = WebDriverWait(browser, 15)
    browser.get(url + "/")
    browser.execute_script("sessionStorage.clear()")
    browser.get(url + "/")
    field = browser.find_element(By.ID, "token")
    field.clear()
    field.send_keys(token)
    browser.find_element(By.ID, "use-token").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "department"), department))
    return wait
