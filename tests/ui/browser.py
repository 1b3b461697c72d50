"""Debian's chromium driven by Playwright for Python, and what a page did while it ran.

Playwright's own browser download does not work here, so the browser is the system's
`chromium` (scripts/test installs it when missing); without it, or without playwright,
the browser tests skip, and fail under REQUIRE_SERVICES=1 (CI)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tests.servers import skip_or_fail

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Request, Response

CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking"]
WAIT_MS = 30_000  # the longest any single wait in these tests may take

# Installed before the page's own scripts: CSP violations are collected even if the
# browser's console wording changes.
_CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def launch() -> Iterator[Browser]:
    """One headless chromium (a module's tests share it; each test has its own context)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed (pip install -e '.[test]')")
        raise  # unreachable: skip_or_fail raises
    path = chromium_path()
    if path is None:
        skip_or_fail("chromium is not installed (apt-get install chromium; scripts/test does it)")
        raise AssertionError("unreachable")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, timeout=WAIT_MS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watched:
    """A page with everything it logged, asked for and failed to get."""

    context: BrowserContext
    page: Page
    console_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    cdp: Any = None  # the DevTools session that throttles, once one does

    def csp_violations(self) -> list[str]:
        found: list[str] = self.page.evaluate("() => window.__cspViolations || []")
        return found

    def origins(self) -> set[str]:
        return {urlsplit(r.url).netloc for r in self.requests if not r.url.startswith("data:")}

    def uploads(self, method: str) -> list[Request]:
        return [r for r in self.requests if r.method == method]


def watch(browser: Browser) -> Watched:
    context = browser.new_context(accept_downloads=False)
    context.set_default_timeout(WAIT_MS)
    context.add_init_script(_CSP_WATCH)
    page = context.new_page()
    seen = Watched(context, page)

    def on_console(message: Any) -> None:
        if message.type == "error":
            seen.console_errors.append(message.text)

    def on_response(response: Response) -> None:
        if response.status >= 400:
            seen.failed.append(f"{response.status} {response.request.method} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: seen.console_errors.append(f"uncaught: {exc}"))
    page.on("request", lambda r: seen.requests.append(r))
    page.on("requestfailed", lambda r: seen.failed.append(f"{r.failure} {r.method} {r.url}"))
    page.on("response", on_response)
    return seen


def throttle_uploads(watched: Watched, bytes_per_second: int) -> None:
    """Chromium's own network emulation (-1: none), so a pause lands mid-upload."""
    if watched.cdp is None:
        watched.cdp = watched.context.new_cdp_session(watched.page)
        watched.cdp.send("Network.enable")
    watched.cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": bytes_per_second,
        },
    )
