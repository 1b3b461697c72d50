from __future__ import annotations

import pytest

from tuskit.upload.tus.metadata import MetadataError, format_metadata, parse_metadata


def test_pairs_keep_order_and_are_decoded_once() -> None:
    pairs = parse_metadata("filename d29ybGQ=,is_confidential, type dGV4dA==")
    assert pairs == (("filename", "world"), ("is_confidential", ""), ("type", "text"))
    assert format_metadata(pairs) == "filename d29ybGQ=,is_confidential,type dGV4dA=="


def test_values_round_trip_unicode_text() -> None:
    header = "name w7xuw69jw7hkw6kgbmFtZSwgd2l0aCBjb21tYS50eHQ="
    assert parse_metadata(header) == (("name", "ünïcødé name, with comma.txt"),)
    assert format_metadata(parse_metadata(header)) == header


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("filename not*base64", "base64"),
        ("blob //79", "UTF-8"),
        ("a YQ==,,b", "empty pair"),
        ("a YQ==,a Yg==", "twice"),
        ("a YQ==, ", "empty pair"),
        ("k\ty YQ==", "ASCII"),
        ("a YQ== extra", "more than one space"),
        ("ключ YQ==", "ASCII"),
    ],
)
def test_malformed_headers_are_rejected(header: str, problem: str) -> None:
    with pytest.raises(MetadataError, match=problem):
        parse_metadata(header)


def test_absent_or_blank_header_means_no_metadata() -> None:
    assert parse_metadata(None) == ()
    assert parse_metadata("  ") == ()
    assert format_metadata(()) is None
