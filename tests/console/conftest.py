"""A server with the console mounted (module-wide) and a headless Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agents.protocol import Scope
from tests.conftest import make_settings, mint
from tests.console.fakes import console_wiring
from tests.support.server import RunningServer, run_server

CHROMIUM = os.environ.get("QUBITZ_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    settings = make_settings(tmp_path_factory.mktemp("console") / "data")
    with run_server(settings, console_wiring()) as srv:
        yield srv


@pytest.fixture(scope="module")
def keys(console_server: RunningServer) -> dict[str, str]:
    return {"uct": mint(console_server, Scope.UCT), "ch": mint(console_server, Scope.CONTROL_HUB)}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def screens(tmp_path: Path) -> Path:
    """Where screenshots go: $QUBITZ_SCREENSHOTS if set (to look at them), else a tmp dir."""
    folder = Path(os.environ.get("QUBITZ_SCREENSHOTS") or tmp_path / "screens")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Console:
    """A fresh browser context (so fresh sessionStorage) on the console, recording page errors
    and console errors (CSP violations are reported there)."""

    def __init__(self, browser: Any, server: RunningServer, screens: Path) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.server = server
        self.screens = screens
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self.page.on(
            "console",
            lambda msg: self.errors.append(f"console: {msg.text}") if msg.type == "error" else None,
        )
        self.page.set_default_timeout(15_000)

    def open(self) -> Any:
        self.page.goto(self.server.http + "/")
        self.page.wait_for_selector("body[data-ready=true]")
        return self.page

    def sign_in(self, uct: str | None = None, ch: str | None = None, user: str = "tester") -> Any:
        page = self.open()
        if uct:
            page.fill("#key-uct", uct)
        if ch:
            page.fill("#key-ch", ch)
        page.fill("#signin-user", user)
        page.click("#signin-form button[type=submit]")
        page.wait_for_selector("#workspace:not([hidden])")
        return page

    def shot(self, name: str) -> Path:
        path = self.screens / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def console(browser: Any, console_server: RunningServer, screens: Path) -> Iterator[Console]:
    c = Console(browser, console_server, screens)
    try:
        yield c
        assert c.errors == [], c.errors
    finally:
        c.context.close()
