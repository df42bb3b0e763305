"""The real pages in a real Chromium (Debian's /usr/bin/chromium and /usr/bin/chromedriver via
Selenium): open England, click a council, check its numbers against the API, run a scenario
from the form and see the overlay and the verdicts, upload a bad YAML and see the error.

Screenshots of each page are saved to ``tests/web/screenshots/`` (git-ignored). Skipped, with
the reason, when Chromium or its driver is not installed (``apt-get install chromium
chromium-driver``; ``.ci/run`` does this on CI).
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SHOTS = Path(__file__).resolve().parent / "screenshots"
NORFOLK = "E10000020"

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()),
    reason="Chromium not installed (apt-get install chromium chromium-driver)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(services) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app served by uvicorn on a free loopback port, in a thread, for this module."""
    import uvicorn

    from sendcast.web.app import create_app

    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(services), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    else:
        raise RuntimeError("the test server did not start")
    yield base
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="sendcast-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        f"--user-data-dir={profile}",
    ):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    driver.set_page_load_timeout(60)
    SHOTS.mkdir(exist_ok=True)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _shot(driver, name: str) -> None:  # type: ignore[no-untyped-def]
    """Two screenshots: the first screenful (``name.png``, 1280 x 1000) and the whole page
    (``name-full.png``, the window grown to the page's height)."""
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(str(SHOTS / f"{name}.png"))
    h = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(int(h), 800), 12000))
    driver.save_screenshot(str(SHOTS / f"{name}-full.png"))
    driver.set_window_size(1280, 1000)


def _no_console_errors(driver) -> None:  # type: ignore[no-untyped-def]
    """Nothing the page did was blocked (CSP) or failed in JavaScript."""
    bad = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not bad, bad


def _wait_for(driver, css: str, timeout: float = 90.0):  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def test_england_then_click_a_council_and_check_its_numbers(server, browser) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    browser.get(server + "/")
    assert "SEND in England" in browser.title
    hexes = browser.find_elements(By.CSS_SELECTOR, "svg.hexmap a.hex")
    assert len(hexes) == 153
    _shot(browser, "england")
    _no_console_errors(browser)
    # click Norfolk's hexagon
    browser.find_element(By.CSS_SELECTOR, f'svg.hexmap a.hex[data-code="{NORFOLK}"]').click()
    _wait_for(browser, "#forecast")
    assert browser.current_url.endswith(f"/council/{NORFOLK}")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Norfolk")
    _wait_for(browser, "#fan-ehcp_total[data-drawn=yes]")
    _wait_for(browser, "#budget-balance[data-drawn=yes]")
    _shot(browser, "council-norfolk")
    _no_console_errors(browser)
    # the page's numbers against the API's
    profile = httpx.get(f"{server}/api/councils/{NORFOLK}/profile").json()
    latest = max(r["period"] for r in profile["rows"] if r["measure"] == "ehcp_total" and r["comparator"] == "council")
    want = [
        r["shown"]
        for r in profile["rows"]
        if r["measure"] == "ehcp_total" and r["comparator"] == "council" and r["period"] == latest
    ][0]
    cell = browser.find_element(By.CSS_SELECTOR, '#latest-table td[data-measure="EHC plans at January"]')
    assert cell.text == want
    budget = httpx.get(f"{server}/api/councils/{NORFOLK}/budget").json()
    p = budget["agreement"]["probability_meeting_target"]
    summary = browser.find_element(By.CSS_SELECTOR, ".summary").text
    assert f"the chance of meeting it is {round(100 * p)}%" in summary


def test_run_a_scenario_from_the_form(server, browser) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(f"{server}/scenarios?la={NORFOLK}&example=norfolk/local_first_inclusion")
    assert "Scenarios" in browser.title
    _shot(browser, "scenarios-form")
    draws = browser.find_element(By.ID, "draws")
    draws.clear()
    draws.send_keys("60")
    horizon = browser.find_element(By.ID, "horizon")
    horizon.clear()
    horizon.send_keys("6")
    # change one lever: new plans 20% below trend instead of 15%
    first = browser.find_element(By.CSS_SELECTOR, "#lever-0 input[name='lv0.change_percent']")
    first.clear()
    first.send_keys("-20")
    Select(browser.find_element(By.ID, "la")).select_by_value(NORFOLK)
    browser.find_element(By.ID, "run-button").click()
    _wait_for(browser, "#scenario-summary", timeout=120)
    _wait_for(browser, "#overlay-ehcp_total[data-drawn=yes]")
    _wait_for(browser, "#overlay-cumulative_balance[data-drawn=yes]")
    # baseline and scenario on one chart
    names = browser.execute_script(
        "return document.getElementById('overlay-ehcp_total').data.map(function (t) { return t.name; });"
    )
    assert any(n.startswith("Baseline") for n in names) and any(n.startswith("Local First Inclusion") for n in names)
    verdicts = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#realism-table td.verdict")]
    assert verdicts and set(verdicts) <= {"unprecedented", "ambitious", "within experience", "not assessed"}
    assert "fewer EHC plans than the baseline" in browser.find_element(By.ID, "scenario-summary").text
    _shot(browser, "scenario-result")
    _no_console_errors(browser)


def test_upload_a_bad_yaml_and_see_the_error(server, browser, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    bad = tmp_path / "not-a-scenario.yaml"
    bad.write_text("- this is a list\n- not a scenario\n")
    browser.get(f"{server}/scenarios")
    browser.find_element(By.ID, "upload-file").send_keys(str(bad))
    browser.find_element(By.CSS_SELECTOR, "#upload-form button").click()
    err = _wait_for(browser, "#form-error")
    assert "not-a-scenario.yaml: (file): expected a mapping, got list" in err.text
    _shot(browser, "scenario-upload-error")
    logged = browser.get_log("browser")  # the 400 answer is logged; nothing else may be
    assert all("status of 400" in e["message"] for e in logged if e["level"] == "SEVERE"), logged


def test_accuracy_page(server, browser) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    browser.get(f"{server}/accuracy?la=Norfolk")
    _wait_for(browser, "#accuracy-chart[data-drawn=yes]")
    assert "typical council's forecast" in browser.find_element(By.CSS_SELECTOR, ".summary").text
    _shot(browser, "accuracy")
    _no_console_errors(browser)
