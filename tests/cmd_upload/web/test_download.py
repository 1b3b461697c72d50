from __future__ import annotations

import pytest

from tuskit.persist.model import UploadInfo
from tuskit.upload.web.dates import http_date
from tuskit.upload.web.download import Conditions, content_headers, plan_download, validators

INFO = UploadInfo(id="abc", length=100, offset=100, created_at=1.0, updated_at=1_700_000_000.0)
V = validators(INFO)


def meta(**pairs: str) -> tuple[tuple[str, str], ...]:
    return tuple(pairs.items())


@pytest.mark.parametrize(
    ("header", "status", "start", "end"),
    [
        ("bytes=10-19", 206, 10, 20),
        ("bytes=-5", 206, 95, 100),
        ("bytes=90-", 206, 90, 100),
        ("bytes=90-500", 206, 90, 100),
        ("bytes=100-", 416, 0, 0),
        ("bytes=-0", 416, 0, 0),
        ("bytes=0-1,5-6", 200, 0, 100),
        ("items=0-1", 200, 0, 100),
        ("bytes=9-3", 200, 0, 100),
    ],
)
def test_ranges(header: str, status: int, start: int, end: int) -> None:
    plan = plan_download(V, 100, Conditions(range=header))
    assert plan.status == status
    if status != 416:
        assert (plan.start, plan.end) == (start, end)


def test_conditionals_follow_rfc_order() -> None:
    assert plan_download(V, 100, Conditions(if_none_match=V.etag)).status == 304
    assert plan_download(V, 100, Conditions(if_none_match='"other"')).status == 200
    assert plan_download(V, 100, Conditions(if_match='"other"')).status == 412
    assert plan_download(V, 100, Conditions(if_match=V.etag)).status == 200
    past = http_date(1_600_000_000)
    assert plan_download(V, 100, Conditions(if_unmodified_since=past)).status == 412
    assert plan_download(V, 100, Conditions(if_modified_since=V.last_modified)).status == 304
    assert plan_download(V, 100, Conditions(if_modified_since=past)).status == 200


def test_if_range_serves_range_only_when_unchanged() -> None:
    same = plan_download(V, 100, Conditions(range="bytes=0-9", if_range=V.etag))
    stale = plan_download(V, 100, Conditions(range="bytes=0-9", if_range='"stale"'))
    assert (same.status, stale.status) == (206, 200)


def test_etag_changes_with_the_offset() -> None:
    assert validators(INFO.replace(offset=50)).etag != V.etag


def test_inline_only_for_safe_types() -> None:
    png = INFO.replace(metadata=meta(filetype="image/png", filename="a.png"))
    html = INFO.replace(metadata=meta(filetype="text/html", filename='x"\r\nSet-Cookie: a.html'))
    assert content_headers(png)[0] == "image/png"
    assert content_headers(png)[1].startswith("inline")
    content_type, disposition = content_headers(html)
    assert content_type == "application/octet-stream"
    assert disposition.startswith("attachment")
    assert "\r" not in disposition and "\n" not in disposition
    assert "filename*=UTF-8''" in disposition


@pytest.mark.parametrize("header", ["bytes=-5", "bytes=0-", "bytes=0-0"])
def test_no_range_of_an_empty_body_is_satisfiable(header: str) -> None:
    assert plan_download(V, 0, Conditions(range=header)).status == 416


@pytest.mark.parametrize("size", [0, 3, 10])
def test_an_invalid_range_is_ignored_even_on_an_empty_body(size: int) -> None:
    """`bytes=5-2` is not a range at all (RFC 9110 14.1.1): the whole body, never 416."""
    plan = plan_download(V, size, Conditions(range="bytes=5-2"))
    assert (plan.status, plan.start, plan.end) == (200, 0, size)
