from __future__ import annotations

import pytest

from tuskit.upload.metadata import MetadataError, decoded_value, format_metadata, parse_metadata


def test_pairs_keep_order_and_encoded_values() -> None:
    pairs = parse_metadata("filename d29ybGQ=,is_confidential, type dGV4dA==")
    assert pairs == (("filename", "d29ybGQ="), ("is_confidential", ""), ("type", "dGV4dA=="))
    assert decoded_value(pairs, "filename") == "world"
    assert format_metadata(pairs) == "filename d29ybGQ=,is_confidential,type dGV4dA=="


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("filename not*base64", "base64"),
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
