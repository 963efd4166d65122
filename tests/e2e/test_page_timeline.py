"""The timeline page in headless Chromium (Debian's chromium and chromium-driver).

A real HTTP server serves the API and the page over a real store; Chromium pastes a
department token, searches an order and a customer, and the test reads what is on screen.
Screenshots land in test-artifacts/. Chromium missing fails the test: ``make browser``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from hub.api.auth import token_sha256
from hub.api.timelines import timeline_router
from hub.config import DEFAULT_DEPARTMENTS, HubConfig
from hub.timeline.config import ProcessesConfig
from hub.timeline.store import TimelineStore
from hub.web import page_router
from tests.e2e import chromium
from tests.e2e.chromium import start_chromium
from tests.integration.hub_process import free_port
from tests.unit.timeline.builders import at, record_due_breaches, timeline_event

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
TOKENS = {name: f"page-token-{name}" for name in DEFAULT_DEPARTMENTS}
ORDER = "odoo:SO-4711"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = HubConfig.model_validate(
        {"departments": {n: {"token_sha256": token_sha256(t)} for n, t in TOKENS.items()}}
    )
    db = tmp_path_factory.mktemp("page") / "timeline.db"
    store = TimelineStore(f"sqlite:///{db}", ProcessesConfig())
    store.migrate()
    store.ingest(
        [
            timeline_event("customer.created", 0, system="hubspot", customer_id="G-1"),
            timeline_event("order.placed", 1, order_id=ORDER, customer_id="G-2"),
            timeline_event("order.confirmed", 2, order_id=ORDER, customer_id="G-2"),
            timeline_event("payment.received", 3, order_id=ORDER, customer_id="G-2"),
            timeline_event(
                "complaint.opened",
                4,
                system="zendesk",
                ticket_id="zendesk:77",
                order_id=ORDER,
                customer_id="G-3",
            ),
            timeline_event(
                "customer.merged", 5, system="identity", survivor_id="G-1", merged_id="G-2"
            ),
            timeline_event(
                "customer.merged", 5, system="identity", survivor_id="G-1", merged_id="G-3", n=1
            ),
        ]
    )
    record_due_breaches(store, at(60))
    app = FastAPI()
    app.include_router(timeline_router(store, config, lambda: at(60)))
    app.include_router(page_router())
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if uv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(10)
    store.dispose()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    ARTIFACTS.mkdir(exist_ok=True)  # every test saves its screenshot here, in any order
    driver = start_chromium(tmp_path_factory.mktemp("chromium"))
    yield driver
    driver.quit()


def sign_in(browser: WebDriver, url: str, department: str) -> WebDriverWait:  # type: ignore[type-arg]
    return chromium.sign_in(browser, url, TOKENS[department], department)


def search(browser: WebDriver, wait: WebDriverWait, kind: str, ident: str) -> None:  # type: ignore[type-arg]
    browser.find_element(By.CSS_SELECTOR, f"#kind option[value={kind}]").click()
    query = browser.find_element(By.ID, "query")
    query.clear()
    query.send_keys(ident)
    browser.find_element(By.ID, "show").click()


def test_finance_sees_stages_owner_clocks_lanes_and_amounts(
    server: str, browser: WebDriver
) -> None:
    wait = sign_in(browser, server, "finance")
    # the lists load after the department is shown: wait for them, as for the breaches
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#recent-orders button")))
    recent = browser.find_elements(By.CSS_SELECTOR, "#recent-orders button")
    assert [b.get_attribute("data-id") for b in recent] == [ORDER]
    recent[0].click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "stage"), "paid"))
    assert browser.find_element(By.ID, "title").text == ORDER
    assert browser.find_element(By.ID, "owner").text == "logistics"
    assert browser.find_element(By.ID, "waiting").text == "2d 9h"  # since +3h, now +60h
    current = browser.find_element(By.CSS_SELECTOR, ".stage.current")
    assert current.text.startswith("paid")
    breaches = browser.find_elements(By.CSS_SELECTOR, "#breaches .clock.breached")
    assert {b.get_attribute("data-rule") for b in breaches} == {"dispatch", "acknowledge"}
    lanes = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "th.lane")]
    assert lanes == ["finance"], "finance is routed the payment only"
    payment = browser.find_element(By.CSS_SELECTOR, '.event[data-type="payment.received"]')
    assert payment.find_element(By.XPATH, "./ancestor::td").get_attribute("data-lane") == "finance"
    assert "714.60" in payment.text
    assert "payer_iban" not in browser.page_source
    assert browser.save_screenshot(str(ARTIFACTS / "timeline-order-finance.png"))


def test_logistics_opens_its_breach_from_the_list(server: str, browser: WebDriver) -> None:
    wait = sign_in(browser, server, "logistics")
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#recent-breaches button")))
    listed = browser.find_elements(By.CSS_SELECTOR, "#recent-breaches button.breach")
    assert [b.get_attribute("data-rule") for b in listed] == ["dispatch"]
    listed[0].click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "title"), ORDER))
    types = [e.get_attribute("data-type") for e in browser.find_elements(By.CSS_SELECTOR, ".event")]
    assert types == ["sla.breached"], "logistics is routed only the breach of this order"
    assert browser.find_element(By.ID, "stage").text == "paid"
    assert browser.save_screenshot(str(ARTIFACTS / "timeline-order-logistics-breach.png"))


def test_marketing_is_refused_the_order_and_sees_no_amounts(
    server: str, browser: WebDriver
) -> None:
    wait = sign_in(browser, server, "marketing")
    search(browser, wait, "order", ORDER)
    wait.until(ec.text_to_be_present_in_element((By.ID, "error"), "403"))
    assert not browser.find_element(By.ID, "timeline").is_displayed()
    search(browser, wait, "customer", "G-2")
    wait.until(ec.text_to_be_present_in_element((By.ID, "title"), "G-1"))
    assert "asked: G-2" in browser.find_element(By.ID, "title").text
    assert "714.60" not in browser.page_source
    types = [e.get_attribute("data-type") for e in browser.find_elements(By.CSS_SELECTOR, ".event")]
    assert types == ["customer.created", "customer.merged", "customer.merged"]


def test_sales_sees_one_customer_across_crm_erp_and_helpdesk(
    server: str, browser: WebDriver
) -> None:
    wait = sign_in(browser, server, "support")
    search(browser, wait, "customer", "G-3")
    wait.until(ec.text_to_be_present_in_element((By.ID, "title"), "G-1"))
    assert browser.find_element(By.ID, "systems").text == "/connectors/zendesk, /hub/timeline"
    wait = sign_in(browser, server, "sales")
    search(browser, wait, "customer", "G-3")
    wait.until(ec.text_to_be_present_in_element((By.ID, "title"), "G-1"))
    systems = browser.find_element(By.ID, "systems").text
    assert systems == "/connectors/hubspot, /connectors/identity, /connectors/odoo"
    assert browser.find_element(By.ID, "stage").text == "active"
    running = browser.find_elements(By.CSS_SELECTOR, "#clocks .clock")
    assert [c.get_attribute("data-rule") for c in running] == ["resolve"]
    late = browser.find_elements(By.CSS_SELECTOR, "#breaches .clock.breached")
    assert {c.get_attribute("data-rule") for c in late} == {"dispatch", "acknowledge"}
    lanes = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "th.lane")]
    assert lanes == ["sales", "finance", "marketing"]
    assert browser.save_screenshot(str(ARTIFACTS / "timeline-customer-sales.png"))
