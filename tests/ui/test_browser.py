"""The UI in a real browser: headless Chromium driven by Selenium against `ltvad ui` on 127.0.0.1.

Screenshots of every page land in a temp folder (or in $LTVAD_SCREENSHOTS when set, to look at).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest
from selenium.webdriver.support.ui import WebDriverWait
from servers import free_port, serve

from ltvad_search.catalog import Catalog

CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(not (CHROMEDRIVER and CHROMIUM),
                                reason="needs Debian's chromium and chromium-driver (make test installs them)")


@pytest.fixture(scope="module")
def server(ui_store: Path, tmp_path_factory: pytest.TempPathFactory):
    store = shutil.copytree(ui_store, tmp_path_factory.mktemp("browser") / "store")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "ltvad_search.cli", "--set", f"store.root={store}", "ui", "--port", str(port)]
    with serve(cmd, f"{url}/_stcore/health", store.parent / "ui.log", timeout=60):
        yield url, store


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM  # type: ignore[assignment]
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1500,1100",
                 f"--user-data-dir={tmp_path_factory.mktemp('chrome-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("LTVAD_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _wait_text(driver, text: str, timeout: float = 60) -> None:
    WebDriverWait(driver, timeout).until(lambda d: text in d.find_element("tag name", "body").text)


def _settle(driver, timeout: float = 60) -> None:
    """Wait until Streamlit reports the script run finished."""
    time.sleep(0.5)
    WebDriverWait(driver, timeout).until(
        lambda d: not d.find_elements("css selector", '[data-testid="stStatusWidget"]'))


def _click_button(driver, label: str) -> None:
    def find(d):
        for b in d.find_elements("css selector", "button"):
            if label in b.text and b.is_displayed():
                return b
        return False

    WebDriverWait(driver, 60).until(find).click()


def _select_first_row(driver) -> None:
    """Row selection in Streamlit's canvas table: click the first data row's selection cell."""
    from selenium.webdriver.common.action_chains import ActionChains
    table = WebDriverWait(driver, 60).until(
        lambda d: d.find_element("css selector", '[data-testid="stDataFrame"]'))
    width = table.size["width"]
    ActionChains(driver).move_to_element_with_offset(table, -width // 2 + 18, -table.size["height"] // 2 + 52) \
        .click().perform()


def test_candidates_search_more_like_this_and_review(server, browser, shots: Path) -> None:
    url, store = server
    browser.get(url)
    _wait_text(browser, "Long-tail candidates")
    _wait_text(browser, "3 of 3 scored clips")
    _settle(browser)
    browser.save_screenshot(str(shots / "1_candidates.png"))

    _select_first_row(browser)
    _wait_text(browser, "Segment 1")
    _settle(browser)
    browser.save_screenshot(str(shots / "2_candidate_selected.png"))
    _click_button(browser, "More like this")
    WebDriverWait(browser, 60).until(  # the results table joins the candidates table
        lambda d: len(d.find_elements("css selector", '[data-testid="stDataFrame"]')) >= 2)
    _settle(browser)
    browser.save_screenshot(str(shots / "3_more_like_this.png"))

    browser.get(f"{url}/search_page")
    _wait_text(browser, "Scenario search")
    box = WebDriverWait(browser, 60).until(lambda d: d.find_element(
        "css selector", 'input[aria-label="Describe the scene you are looking for"]'))
    box.send_keys("flashing emergency lights\n")
    _settle(browser)
    WebDriverWait(browser, 60).until(lambda d: d.find_elements("css selector", '[data-testid="stDataFrame"]'))
    browser.save_screenshot(str(shots / "4_search.png"))

    browser.get(f"{url}/evaluation_page")
    _wait_text(browser, "Evaluation")
    _wait_text(browser, "ROC AUC")
    _settle(browser)
    browser.save_screenshot(str(shots / "5_evaluation.png"))

    browser.get(f"{url}/review_page")
    _wait_text(browser, "clips labelled")
    _settle(browser)
    browser.save_screenshot(str(shots / "6_review.png"))
    title = next(h.text for h in browser.find_elements("css selector", "h3") if " · score " in h.text)
    _click_button(browser, "Long-tail")
    _wait_text(browser, "3 of 3 clips labelled")
    with Catalog(store / "catalog.sqlite", readonly=True) as cat:
        by_name = {Path(c.source).name: c.clip_id for c in cat.clips()}
        labels = {lb.clip_id: lb.label for lb in cat.labels()}
    assert labels[by_name[title.split(" · ")[0]]] == 1
    assert len(list(shots.glob("*.png"))) >= 6
