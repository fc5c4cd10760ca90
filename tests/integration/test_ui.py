"""Prefect's own UI, in a real headless Chromium, showing pfagent's runs.

A Prefect server with its UI (the built assets its wheel ships) runs a
pipeline flow twice: flows/currencies.c by pfagent, against the Open
Exchange Rates fixture (as test_currencies.py), and its Python twin
tests/flows/py_flows.py:currencies by Prefect's own process worker. On
each run's page a user sees the same kinds of content: the state, the
log lines, the task runs extract, normalize and load, the artifact's
table; the work pool's page lists the worker by name.

The browser is Debian's chromium driven by selenium through Debian's
chromedriver (scripts/setup browser): nothing downloads a browser. The
tests skip, saying why, when either is missing. Screenshots go to
build/ui/ for a person to look at; build/ui/side-by-side.png puts the
two runs' pages next to each other (docs/ui-flow-runs.png is a copy).
"""

import os
from pathlib import Path

import pytest

import load_compare as lc
from conftest import Agent
from peers.oxr import CURRENCIES, OxrServer
from peers.prefect import (
    REPO_ROOT, VENV_BIN, PrefectClient, PrefectServer, _started)
from test_currencies import AGENT_ENV, APP_ID, deploy as deploy_currencies
from test_python_flows import deploy as deploy_python, wait_online

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SHOTS = REPO_ROOT / "build" / "ui"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync",
         "--window-size=1280,1000")
TASKS = ("extract", "normalize", "load")
SEEN = 60  # seconds for the UI to show what the API already holds

try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError as e:  # pinned in tests/requirements.txt
    webdriver = None
    NO_SELENIUM = str(e)


def missing_browser():
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        return (f"{CHROMIUM} or {CHROMEDRIVER} not installed: "
                f"run scripts/setup browser (Debian's chromium, "
                f"chromium-driver)")
    if webdriver is None:
        return f"selenium not importable ({NO_SELENIUM}): scripts/setup venv"
    return None


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory):
    srv = PrefectServer(tmp_path_factory.mktemp("ui-prefect-home"), ui=True)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def ui_client(ui_server):
    c = PrefectClient(ui_server.api_url)
    yield c
    c.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    reason = missing_browser()
    if reason:
        print(f"\ntest_ui skipped: {reason}")
        pytest.skip(reason)
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument(
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)),
                              options=opts)
    # Ours: not an orphan for the agents' teardown to kill.
    pid = driver.service.process.pid
    _started.add(pid)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()
        _started.discard(pid)


@pytest.fixture(scope="module")
def oxr():
    srv = OxrServer(app_ids={APP_ID}).start()
    yield srv
    srv.stop()


# --------------------------------------------------------------------------
# what the page shows

def text(driver):
    try:
        return driver.find_element(By.TAG_NAME, "body").text
    except WebDriverException:
        return ""


def shows(driver, *needles, timeout=SEEN):
    """Waits until the page's visible text holds every needle; fails
    naming those missing and showing the text."""
    missing = list(needles)

    def seen(d):
        nonlocal missing
        body = text(d)
        missing = [n for n in needles if n not in body]
        return not missing

    try:
        WebDriverWait(driver, timeout, poll_frequency=0.25).until(seen)
    except Exception:
        raise AssertionError(
            f"{driver.current_url} does not show {missing} after "
            f"{timeout} s; it shows:\n{text(driver)[:3000]}") from None
    return text(driver)


def open_tab(driver, name):
    """Clicks the page's tab labelled `name` (Prefect's UI: li.p-tab)."""
    def tab(d):
        found = [t for t in d.find_elements(By.CSS_SELECTOR, "li.p-tab")
                 if t.text.strip() == name]
        return found[0] if found else None

    try:
        found = WebDriverWait(driver, SEEN, poll_frequency=0.25).until(tab)
    except Exception:
        tabs = [t.text for t in driver.find_elements(By.CSS_SELECTOR,
                                                     "li.p-tab")]
        raise AssertionError(f"{driver.current_url}: no tab {name!r} after "
                             f"{SEEN} s; tabs: {tabs}") from None
    found.click()


def shot(driver, name):
    path = SHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def check_run_page(driver, server, client, run, label, log_line, artifact,
                   table_row):
    """The run's page: its name and state, a log line, the task runs by
    name, and the artifact's table; screenshots of each."""
    driver.get(f"{server.url}/runs/flow-run/{run['id']}")
    shows(driver, run["name"], "Completed", log_line)
    shot(driver, f"{label}-run")
    open_tab(driver, "Task Runs")
    body = shows(driver, *TASKS)
    for t in TASKS:
        assert any(line.startswith(f"{t}-") for line in body.splitlines()), \
            (t, body[:3000])
    shot(driver, f"{label}-task-runs")
    open_tab(driver, "Artifacts")
    shows(driver, artifact)
    art = client.request("POST", "/artifacts/filter", json={
        "artifacts": {"flow_run_id": {"any_": [run["id"]]}}})
    assert [a["key"] for a in art] == [artifact]
    driver.get(f"{server.url}/artifacts/artifact/{art[0]['id']}")
    shows(driver, artifact, "table_name", "row_count", *table_row)
    shot(driver, f"{label}-artifact")


def check_pool_page(driver, server, pool, worker, label):
    driver.get(f"{server.url}/work-pools/work-pool/{pool}")
    shows(driver, pool)
    open_tab(driver, "Workers")
    shows(driver, worker)
    shot(driver, f"{label}-work-pool")


def side_by_side(driver, left, right, out):
    """One picture of two screenshots next to each other, drawn by the
    same browser (no imaging library needed)."""
    page = SHOTS / "side-by-side.html"
    page.write_text(
        "<html><body style='margin:0;display:flex;gap:6px;overflow:hidden;"
        "background:#888'>"
        f"<img src='{left.name}' style='width:calc(50% - 3px)'>"
        f"<img src='{right.name}' style='width:calc(50% - 3px)'>"
        "</body></html>")
    driver.set_window_size(1400, 560)
    try:
        driver.get(page.as_uri())
        WebDriverWait(driver, SEEN).until(lambda d: d.execute_script(
            "return [...document.images].every(i => i.complete && "
            "i.naturalWidth > 0)"))
        driver.save_screenshot(str(out))
    finally:
        driver.set_window_size(1280, 1000)
    return out


# --------------------------------------------------------------------------

def test_pfagent_run_in_prefects_ui(browser, ui_server, ui_client, agent,
                                    pool_name, process_job_template,
                                    tmp_path, oxr):
    """A pfagent run of the currencies pipeline, on its Prefect UI page:
    Completed, the flow's log line, task runs extract, normalize and load,
    the artifact's table of rows loaded; the pool's page lists the
    agent."""
    client = ui_client
    client.create_pool(pool_name, base_job_template=process_job_template)
    project = lc.flow_project(tmp_path, "currencies")
    dep = deploy_currencies(client, pool_name, project, oxr.scenario("ok"),
                            pool_name)
    a = agent(pool_name, "--query-seconds", "1", env=AGENT_ENV,
              api_url=ui_server.api_url)
    run = client.create_flow_run(dep["id"])
    final = client.wait_for_run(run["id"], timeout=180, watch=[a])
    assert final["state_type"] == "COMPLETED", final["state"]

    check_run_page(browser, ui_server, client, final, "pfagent",
                   f"Extracted {len(CURRENCIES)} currencies",
                   "currencies-load", ("currencies",))
    check_pool_page(browser, ui_server, pool_name, a.name, "pfagent")


def test_python_worker_run_in_prefects_ui(browser, ui_server, ui_client,
                                          pool_name, process_job_template,
                                          tmp_path):
    """The Python twin run by Prefect's own process worker shows the same
    kinds of content on its page; then both runs' pages side by side."""
    client = ui_client
    client.create_pool(pool_name, base_job_template=process_job_template)
    name = f"prefect-{pool_name}"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PREFECT_")}
    env.update({"PREFECT_API_URL": ui_server.api_url,
                "PREFECT_HOME": str(tmp_path / "worker-home"),
                "PATH": f"{VENV_BIN}:/usr/bin:/bin",
                "PREFECT_WORKER_QUERY_SECONDS": "1"})
    w = Agent([str(VENV_BIN / "prefect"), "worker", "start", "--pool",
               pool_name, "--type", "process", "--name", name], env,
              tmp_path / "prefect-worker.log", name)
    try:
        wait_online(client, pool_name, w)
        dep = deploy_python(ui_server.api_url, tmp_path, pool_name,
                            "tests/flows/py_flows.py:currencies",
                            "py-currencies")
        run = client.request(
            "POST", f"/deployments/{dep}/create_flow_run",
            json={"parameters": {}})
        final = client.wait_for_run(run["id"], timeout=240, watch=[w])
        assert final["state_type"] == "COMPLETED", final["state"]

        check_run_page(browser, ui_server, client, final, "python",
                       "Extracted 3 currencies", "py-currencies-load",
                       ("currencies",))
        check_pool_page(browser, ui_server, pool_name, name, "python")
    finally:
        w.terminate()

    left, right = SHOTS / "pfagent-run.png", SHOTS / "python-run.png"
    if left.exists():  # the pfagent test ran first in this session
        side_by_side(browser, left, right, SHOTS / "side-by-side.png")
