"""The web page in a real Chromium, against the live service of the integration tests.

Redis, the API (uvicorn in a thread) and ``scenecraft worker`` processes come from
``tests/integration/conftest.py``, loaded here under another name so that code exists once.
Chromium is Debian's (``make dev`` installs it); Playwright only drives it, it downloads nothing.
Screenshots go to ``test-artifacts/browser/``.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

INTEGRATION = Path(__file__).parent.parent / "integration"
SHOTS = Path(__file__).parent.parent.parent / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
# the integration suite caps jobs at 8 s; the page tests watch and cancel a job that runs longer
LONG_JOBS = {
    "SCENECRAFT_JOB_TIME_LIMIT_S": "100",
    "SCENECRAFT_JOB_SOFT_TIME_LIMIT_S": "90",
    "SCENECRAFT_VISIBILITY_TIMEOUT_S": "120",
}


def _load_integration_conftest():
    # its module imports ``steps_pipeline`` (the test.steps pipeline) from its own folder
    sys.path.insert(0, str(INTEGRATION))
    spec = importlib.util.spec_from_file_location(
        "integration_conftest", INTEGRATION / "conftest.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


live = _load_integration_conftest()
service_env = live.service_env
api = live.api


@pytest.fixture(scope="module")
def worker(service_env: str) -> Iterator[None]:
    """One worker process for the module's tests (starting one takes seconds)."""
    with pytest.MonkeyPatch.context() as mp:
        for k, v in LONG_JOBS.items():
            mp.setenv(k, v)
        w = live.workers_for(service_env)
        w.start(concurrency=1)
    try:
        yield
    finally:
        w.stop_all()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is missing: `make dev` installs it (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Tab:
    """One browser tab on the service; fails the test on any uncaught script error."""

    def __init__(self, browser, base_url: str, viewport: dict[str, int]):
        self.context = browser.new_context(
            viewport=viewport, base_url=base_url, accept_downloads=True
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.js_errors: list[str] = []
        self.page.on("pageerror", lambda e: self.js_errors.append(str(e)))

    def sign_in(self, key: str) -> None:
        self.page.goto("/")
        self.page.get_by_label("API key").fill(key)
        self.page.get_by_label("API key").press("Enter")
        self.page.get_by_role("heading", name="New job").wait_for()

    def shot(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.page.screenshot(path=path, full_page=True)
        return path

    def close(self) -> None:
        self.context.close()
        assert not self.js_errors, f"script errors on the page: {self.js_errors}"


@pytest.fixture
def tab(browser, api) -> Iterator[Callable[..., Tab]]:
    """``tab(viewport=DESKTOP)`` opens a fresh tab (its own session storage)."""
    opened: list[Tab] = []

    def open_tab(viewport: dict[str, int] = DESKTOP) -> Tab:
        p = Tab(browser, api.url, viewport)
        opened.append(p)
        return p

    yield open_tab
    for p in opened:
        p.close()
