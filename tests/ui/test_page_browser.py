"""The upload page in real headless Chromium: it loads clean under its CSP, uploads several
files (30 MiB) whose bytes come back by GET, resumes after a reload from the offset the
server kept, uploads through the IETF draft when switched, and shows a server's refusal."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.servers import ROOT, free_port, wait_until

from .browser import Watched, throttle_uploads, watch
from .conftest import MakeServer, PageServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.timeout(120)

FILE_INPUT = "input.uppy-Dashboard-input:not([webkitdirectory])"
SCREENSHOT = ROOT / "docs" / "ui" / "upload-page.png"


@pytest.fixture(scope="module")
def server(make_server: MakeServer) -> PageServer:
    return make_server("--max-size", "64MiB")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def open_page(browser: Browser, url: str) -> Watched:
    seen = watch(browser)
    seen.page.goto(url)
    seen.page.wait_for_function("() => window.tuskitUppy !== undefined")
    return seen


def downloads(seen: Watched) -> dict[str, str]:
    """The page's list of what this browser uploaded: file name -> link."""
    links = seen.page.locator("#mine a.download")
    return {
        links.nth(i).inner_text(): str(links.nth(i).get_attribute("href"))
        for i in range(links.count())
    }


def wait_for_links(seen: Watched, count: int) -> dict[str, str]:
    seen.page.wait_for_function(
        f"() => document.querySelectorAll('#mine a.download').length >= {count}"
    )
    return downloads(seen)


def assert_clean(seen: Watched) -> None:
    assert seen.console_errors == []
    assert seen.failed == []
    assert seen.csp_violations() == []


def test_the_page_loads_clean_and_shows_the_limits(browser: Browser, server: PageServer) -> None:
    seen = open_page(browser, server.origin + "/")
    limits = seen.page.locator("#limits")
    limits.get_by_text("64 MiB").wait_for()  # Tus-Max-Size from OPTIONS, then shown
    assert "tus 1.0.0 at /files/" in limits.inner_text()
    assert seen.page.locator(".uppy-Dashboard").is_visible()
    assert any(r.method == "OPTIONS" and r.url == server.url for r in seen.requests)
    assert seen.origins() == {f"127.0.0.1:{server.port}"}  # nothing from another origin
    assert_clean(seen)
    seen.context.close()


def test_several_files_upload_and_download_byte_for_byte(
    browser: Browser, server: PageServer, files: Path
) -> None:
    seen = open_page(browser, server.origin + "/")
    seen.page.locator(FILE_INPUT).set_input_files([files / "big.bin", files / "small.bin"])
    links = wait_for_links(seen, 2)
    assert set(links) == {"big.bin", "small.bin"}
    for name, link in links.items():
        assert link.startswith(server.url)
        got = httpx.get(link, timeout=30)
        assert got.status_code == 200
        assert sha256(got.content) == sha256((files / name).read_bytes()), name
    state = seen.page.evaluate(
        "() => window.tuskitUppy.getFiles().map(f => f.progress.uploadComplete)"
    )
    assert state == [True, True]
    assert_clean(seen)
    if os.environ.get("UI_SCREENSHOT") == "1":  # refresh docs/ui/upload-page.png
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        seen.page.set_viewport_size({"width": 1000, "height": 900})
        seen.page.screenshot(path=str(SCREENSHOT), full_page=True)
    seen.context.close()


def test_a_paused_upload_resumes_after_a_reload_from_the_stored_offset(
    browser: Browser, server: PageServer, files: Path
) -> None:
    path = files / "resume.bin"
    size = path.stat().st_size
    seen = open_page(browser, server.origin + "/")
    throttle_uploads(seen, 8 << 20)  # 8 MiB/s: the pause lands about halfway
    seen.page.locator(FILE_INPUT).set_input_files(path)
    seen.page.wait_for_function(
        f"() => (window.tuskitUppy.getFiles()[0]?.progress.bytesUploaded || 0) > {size // 3}"
    )
    seen.page.locator("button.uppy-StatusBar-actionCircleBtn[title='Pause']").click()
    seen.page.wait_for_function("() => window.tuskitUppy.getFiles()[0].isPaused === true")
    upload_url = seen.page.evaluate("() => window.tuskitUppy.getFiles()[0].tus.uploadUrl")
    deadline = time.monotonic() + 5  # the server records what arrived once the body ends
    offset = 0
    while time.monotonic() < deadline:
        head = httpx.head(upload_url, headers={"Tus-Resumable": "1.0.0"}, timeout=5)
        assert head.status_code == 200
        offset = int(head.headers["Upload-Offset"])
        if offset > 0:
            break
        time.sleep(0.1)
    assert 0 < offset < size, offset

    throttle_uploads(seen, -1)
    before = len(seen.requests)
    seen.page.reload()
    seen.page.wait_for_function("() => window.tuskitUppy !== undefined")
    assert seen.page.evaluate("() => window.tuskitUppy.getFiles().length") == 0
    seen.page.locator(FILE_INPUT).set_input_files(path)
    links = wait_for_links(seen, 1)
    after = seen.requests[before:]
    assert [r.method for r in after if r.method == "POST"] == []  # no new upload
    patches = [r for r in after if r.method == "PATCH"]
    assert patches and patches[0].url == upload_url
    assert int(patches[0].headers["upload-offset"]) == offset  # from the stored offset
    got = httpx.get(links["resume.bin"], timeout=30)
    assert got.content == path.read_bytes()

    # Fingerprints outlive success: the finished file added again is found, not resent.
    seen.page.reload()
    seen.page.wait_for_function("() => window.tuskitUppy !== undefined")
    before = len(seen.requests)
    seen.page.locator(FILE_INPUT).set_input_files(path)
    seen.page.wait_for_function(
        "() => window.tuskitUppy.getFiles()[0]?.progress.uploadComplete === true"
    )
    methods = [r.method for r in seen.requests[before:] if r.url.startswith(server.url)]
    assert methods == ["HEAD"]
    assert_clean_but_the_pause(seen)
    seen.context.close()


def assert_clean_but_the_pause(seen: Watched) -> None:
    """Pausing aborts the running PATCH: that one failed request is the only one."""
    assert seen.console_errors == []
    assert len(seen.failed) <= 1 and all("PATCH" in f for f in seen.failed), seen.failed
    assert seen.csp_violations() == []


def test_the_switch_uploads_through_the_ietf_draft(
    browser: Browser, server: PageServer, files: Path
) -> None:
    seen = open_page(browser, server.origin + "/")
    toggle = seen.page.locator("#protocol-ietf")
    assert not toggle.is_checked()
    toggle.check()
    assert seen.page.url.endswith("/?protocol=ietf")  # a link to this mode
    assert "IETF draft" in seen.page.locator("#limit-protocol").inner_text()
    seen.page.locator(FILE_INPUT).set_input_files(files / "small.bin")
    link = wait_for_links(seen, 1)["small.bin"]
    assert link.startswith(f"{server.origin}/uploads/")
    creates = [r for r in seen.uploads("POST") if "/uploads/" in r.url]
    assert creates and creates[0].headers.get("upload-draft-interop-version") == "6"
    assert httpx.get(link, timeout=30).content == (files / "small.bin").read_bytes()
    assert_clean(seen)
    seen.context.close()

    again = open_page(browser, server.origin + "/?protocol=ietf")
    assert again.page.locator("#protocol-ietf").is_checked()
    again.context.close()


def test_a_server_refusal_shows_uppys_error_state(
    browser: Browser, make_server: MakeServer, files: Path
) -> None:
    small = make_server("--max-size", "1MiB")
    seen = open_page(browser, small.origin + "/")
    seen.page.locator("#limits").get_by_text("1.0 MiB").wait_for()
    seen.page.locator(FILE_INPUT).set_input_files(files / "small.bin")  # 3 MiB > 1 MiB
    seen.page.locator(".uppy-Dashboard-Item.is-error").wait_for()
    error = seen.page.evaluate("() => window.tuskitUppy.getFiles()[0].error")
    assert "413" in error
    assert seen.page.locator(".uppy-StatusBar.is-error").is_visible()
    assert downloads(seen) == {}
    assert any(f.startswith("413 POST") for f in seen.failed)  # the server said no
    seen.context.close()


def test_the_page_works_under_another_path_with_relative_urls(
    browser: Browser, make_server: MakeServer, files: Path
) -> None:
    moved = make_server("--ui-path", "/app/", "--base-path", "/api/tus/", tus_path="/api/tus/")
    seen = open_page(browser, moved.origin + "/app")  # redirected to /app/
    assert seen.page.url == moved.origin + "/app/"
    seen.page.locator(FILE_INPUT).set_input_files(files / "small.bin")
    link = wait_for_links(seen, 1)["small.bin"]
    assert link.startswith(moved.origin + "/api/tus/")
    assert httpx.get(link, timeout=30).content == (files / "small.bin").read_bytes()
    assert {r.url for r in seen.requests if r.method == "OPTIONS"} == {moved.url}
    assert_clean(seen)
    seen.context.close()


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[str]:
    """tests/e2e/embed_host.py: a FastAPI app with the upload app mounted at /uploads, so
    the page runs under a `root_path` it was never told about."""
    port = free_port()
    env = {**os.environ, "EMBED_DATA_DIR": str(tmp_path / "data")}
    env.pop("PYTHONPATH", None)
    log = (tmp_path / "host.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tests.e2e.embed_host:app", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(base + "/hello").status_code == 200, 20, "the host app")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_the_page_works_under_a_host_apps_prefix(
    browser: Browser, embedded: str, files: Path
) -> None:
    seen = open_page(browser, embedded + "/uploads/")
    seen.page.locator(FILE_INPUT).set_input_files(files / "small.bin")
    link = wait_for_links(seen, 1)["small.bin"]
    assert link.startswith(embedded + "/uploads/files/")
    assert httpx.get(link, timeout=30).content == (files / "small.bin").read_bytes()
    assert {r.url.split("?")[0].rsplit("/", 1)[0] for r in seen.requests} >= {
        embedded + "/uploads/_ui",
        embedded + "/uploads/files",
    }
    assert_clean(seen)
    seen.context.close()
