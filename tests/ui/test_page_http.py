"""The upload page over plain HTTP: which paths it answers (and which it leaves to the
others' JSON 404), its caching validators, gzip, security headers and configuration."""

from __future__ import annotations

import gzip
import json
import re

import httpx
import pytest

from tuskit.upload.app import mounts
from tuskit.upload.main import settings_from_args
from tuskit.upload.ui.assets import uppy_version
from tuskit.upload.ui.page import PageConfig, config_json, relative
from tuskit.upload.ui.respond import accepts_gzip, not_modified

from .conftest import MakeServer, PageServer

pytestmark = pytest.mark.timeout(60)

VERSION = uppy_version()
STATIC = [
    ("/_ui/upload.js", "text/javascript", "no-cache"),
    ("/_ui/upload.css", "text/css", "no-cache"),
    (f"/_ui/uppy-{VERSION}/uppy.min.js", "text/javascript", "max-age=31536000"),
    (f"/_ui/uppy-{VERSION}/uppy.min.css", "text/css", "max-age=31536000"),
    (f"/_ui/uppy-{VERSION}/LICENSE", "text/plain", "max-age=31536000"),
]


@pytest.fixture(scope="module")
def server(make_server: MakeServer) -> PageServer:
    return make_server("--max-size", "5GiB")


def get(server: PageServer, path: str, **headers: str) -> httpx.Response:
    # httpx asks for gzip by default; say exactly what each request accepts.
    headers.setdefault("Accept-Encoding", "identity")
    return httpx.get(server.origin + path, headers=headers, timeout=10)


def config_of(html: str) -> dict[str, object]:
    match = re.search(r'<script id="tuskit-config" type="application/json">(.*?)</script>', html)
    assert match, html[:500]
    data: dict[str, object] = json.loads(match.group(1))
    return data


def test_the_page_is_html_with_a_strict_policy(server: PageServer) -> None:
    page = get(server, "/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-cache"
    assert re.fullmatch(r'"[0-9a-f]{32}"', page.headers["etag"])  # strong
    policy = dict(
        d.strip().split(" ", 1) for d in page.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"  # no inline script, no eval
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in page.text  # every script has a src or is JSON data
    assert not re.search(r"\son[a-z]+=", page.text)  # no inline event handler
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text)  # nothing from elsewhere


def test_the_page_carries_its_configuration_as_data(server: PageServer) -> None:
    config = config_of(get(server, "/").text)
    assert config == {"tus": "files/", "ietf": "uploads/", "maxSize": 5 << 30, "uppy": VERSION}


@pytest.mark.parametrize(("path", "kind", "cache"), STATIC)
def test_static_files_have_validators_gzip_and_the_policy(
    server: PageServer, path: str, kind: str, cache: str
) -> None:
    plain = get(server, path)
    assert plain.status_code == 200
    assert plain.headers["content-type"].startswith(kind)
    assert cache in plain.headers["cache-control"]
    assert "content-security-policy" in plain.headers
    assert int(plain.headers["content-length"]) == len(plain.content)
    assert "content-encoding" not in plain.headers

    raw = httpx.get(server.origin + path, headers={"Accept-Encoding": "gzip"}, timeout=10)
    if len(plain.content) >= 512:
        assert raw.headers["content-encoding"] == "gzip"
        assert raw.headers["vary"] == "Accept-Encoding"
        assert raw.headers["etag"] != plain.headers["etag"]  # one tag per representation
        assert int(raw.headers["content-length"]) < len(plain.content)
        assert raw.content == plain.content  # httpx decoded it
    for tag in (plain.headers["etag"], f"W/{plain.headers['etag']}", "*"):
        again = get(server, path, **{"If-None-Match": tag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == plain.headers["etag"]
    assert get(server, path, **{"If-None-Match": '"other"'}).status_code == 200


def test_head_answers_the_headers_without_the_body(server: PageServer) -> None:
    head = httpx.head(server.origin + "/_ui/upload.js", timeout=10)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) > 0


def test_the_gzip_body_is_gzip_of_the_file(server: PageServer) -> None:
    path = f"/_ui/uppy-{VERSION}/uppy.min.js"
    with httpx.stream(
        "GET", server.origin + path, headers={"Accept-Encoding": "gzip"}, timeout=10
    ) as response:
        packed = b"".join(response.iter_raw())
    assert gzip.decompress(packed) == get(server, path).content
    assert len(packed) < len(get(server, path).content) // 2


def test_the_page_at_the_root_leaves_other_paths_to_their_json_404(server: PageServer) -> None:
    for path in ("/nope", "/index.html", "/_ui/nope.js", "/_ui/uppy-0.0.0/uppy.min.js"):
        missing = get(server, path)
        assert missing.status_code == 404, path
        assert missing.headers["content-type"].startswith("application/json")
        assert missing.json()["code"] in ("not_found", "NotFound"), missing.text
    posted = httpx.post(server.origin + "/", timeout=10)
    assert posted.status_code == 405 and "GET" in posted.headers["allow"]
    assert get(server, "/healthz").json() == {"status": "ok"}
    assert httpx.options(server.url, timeout=10).status_code == 204  # tus is still tus


def test_a_static_path_with_a_trailing_slash_is_a_404_not_a_redirect(server: PageServer) -> None:
    """Starlette would redirect `/x/` to `/x` with the client's Host and no policy."""
    answer = get(server, "/_ui/upload.js/", Host="evil.example")
    assert answer.status_code == 404 and "location" not in answer.headers
    assert answer.headers["content-type"].startswith("application/json")


def test_no_ui_gives_the_json_404_again(make_server: MakeServer) -> None:
    off = make_server("--no-ui")
    root = get(off, "/")
    assert root.status_code == 404
    assert root.headers["content-type"].startswith("application/json")
    assert "content-security-policy" not in root.headers  # answered by the tus fallback
    assert get(off, "/_ui/upload.js").status_code == 404
    assert "ui on" not in off.log()


def test_the_banner_names_the_page(server: PageServer) -> None:
    assert f"ui on {server.origin}/ " in server.log()  # the page, not its files' prefix
    assert f"tus on {server.url}," in server.log()


def test_a_moved_page_redirects_and_points_back_at_the_endpoints(
    make_server: MakeServer,
) -> None:
    moved = make_server("--ui-path", "/app/", "--no-ietf")
    assert get(moved, "/").status_code == 404
    bare = get(moved, "/app?protocol=ietf")
    assert bare.status_code == 308 and bare.headers["location"] == "app/?protocol=ietf"
    page = get(moved, "/app/")
    assert page.status_code == 200
    assert config_of(page.text) == {"tus": "../files/", "ietf": None, "maxSize": None,
                                    "uppy": VERSION}  # fmt: skip
    assert get(moved, "/app/_ui/upload.js").status_code == 200
    assert f"ui on {moved.origin}/app/ " in moved.log()


@pytest.mark.parametrize(
    ("target", "page", "expected"),
    [("/files/", "/", "files/"), ("/files/", "/app/", "../files/"),
     ("/a/b/", "/a/", "b/"), ("/", "/x/y/", "../../"), ("/app/", "/app/", "./")],
)  # fmt: skip
def test_relative_urls(target: str, page: str, expected: str) -> None:
    assert relative(target, page) == expected


def test_the_data_block_cannot_be_closed_by_a_value() -> None:
    text = config_json(PageConfig("/", "/</script>&/", None, None), "1")
    assert "</script>" not in text and "&" not in text
    assert json.loads(text)["tus"] == "</script>&/"


@pytest.mark.parametrize(
    ("header", "expected"),
    [("gzip", True), ("gzip, deflate, br", True), ("br;q=1, gzip;q=0.5", True),
     ("gzip;q=0", False), ("identity", False), ("", False), ("*", False)],
)  # fmt: skip
def test_accept_encoding(header: str, expected: bool) -> None:
    assert accepts_gzip(header) is expected


def test_if_none_match() -> None:
    assert not_modified('"a", "b"', '"b"')
    assert not_modified('W/"b"', '"b"')
    assert not not_modified('"a"', '"b"')
    assert not not_modified("", '"b"')


def test_ui_path_settings() -> None:
    assert settings_from_args(["--ui-path", "upload"]).ui_path == "/upload/"
    assert settings_from_args([]).ui_path == "/"
    assert settings_from_args(["--no-ui"]).ui is False


def test_tus_at_the_root_keeps_working_and_the_page_steps_aside() -> None:
    settings = settings_from_args(["--base-path", "/"])
    assert settings.ui and not settings.ui_served
    assert [m.name for m in mounts(settings) if m.name in ("tus", "ui")] == ["tus"]
    moved = settings_from_args(["--base-path", "/", "--ui-path", "/page/"])
    assert moved.ui_served and "ui" in [m.name for m in mounts(moved)]
    assert settings_from_args(["--ui-path", "/files/", "--no-tus"]).ui_served


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--ui-path", "/files/"], "--ui-path: /files/ is in the path of tus; pick another"),
     (["--ui-path", "/a b/"], "--ui-path: not a URL path"),
     (["--ui-path", "/uploads"], "--ui-path: /uploads/ is in the path of ietf"),
     (["--ui-path", "/", "--base-path", "/"], "--ui-path: / is in the path of tus"),
     (["--ui-path", "/files/sub/"], "--ui-path: /files/sub/ is in the path of tus"),
     (["--ui-path", "/healthz"], "--ui-path: /healthz/ is in the path of healthz"),
     (["--ui-path", "/readyz/x"], "--ui-path: /readyz/x/ is in the path of readyz"),
     (["--ui-path", "/metrics/"], "--ui-path: /metrics/ is in the path of metrics"),
     (["--ui-path", "/a/../b/"], "--ui-path: not a URL path"),
     (["--ui-path", "/.."], "--ui-path: not a URL path")],
)  # fmt: skip
def test_a_bad_ui_path_is_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        settings_from_args(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
