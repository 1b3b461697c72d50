"""Representation metadata of a creation request, as the upload's plain metadata.

What downloads serve comes from `filename` and `filetype` (docs/server.md): the file name
from `Content-Disposition` (RFC 6266: `filename*` over `filename`), else the name a PUT
gave in its URL, else tus-js-client's `Upload-Metadata` (its `ietf-draft-05` protocol still
sends it); the type from `Content-Type` unless that only labels the request's content
(`application/partial-upload`). The client's `Repr-Digest` and `Want-Repr-Digest` are
representation metadata too: kept as `repr-digest` and `want-repr-digest`, so whichever
request (or instance) completes the upload can check and answer them.
"""

from __future__ import annotations

from collections.abc import Mapping
from email.message import Message
from email.utils import collapse_rfc2231_value

from ..tus.metadata import parse_metadata
from .fields import DIGEST_ALGORITHMS, RFC9530_NAMES, digest_field, digests
from .profiles import PARTIAL_UPLOAD

REPR_DIGEST = "repr-digest"
WANT_REPR_DIGEST = "want-repr-digest"
_CONTENT_LABELS = {PARTIAL_UPLOAD, "application/offset+octet-stream"}


def creation_metadata(
    *,
    upload_metadata: str | None,
    content_type: str | None,
    content_disposition: str | None,
    name: str | None,
    expected: Mapping[str, bytes],
    wanted: list[str],
) -> tuple[tuple[str, str], ...]:
    """The metadata to record; raises tus's MetadataError for a malformed Upload-Metadata."""
    meta = dict(parse_metadata(upload_metadata)) if upload_metadata else {}
    filename = disposition_filename(content_disposition) or name
    if filename:
        meta["filename"] = filename
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type and media_type not in _CONTENT_LABELS:
        meta["filetype"] = media_type
    if expected:
        meta[REPR_DIGEST] = digest_field(expected)
    if wanted:
        meta[WANT_REPR_DIGEST] = ",".join(RFC9530_NAMES[w] for w in wanted)
    return tuple(meta.items())


def disposition_filename(value: str | None) -> str | None:
    """The file name of a `Content-Disposition` value (`filename*` wins), or None."""
    if not value:
        return None
    header = Message()
    header["Content-Disposition"] = value
    plain = extended = None
    for key, param in (header.get_params(header="content-disposition") or [])[1:]:
        if key.lower() != "filename":
            continue
        if isinstance(param, tuple):
            extended = collapse_rfc2231_value(param)
        else:
            plain = param
    chosen = extended or plain
    return chosen.strip() if chosen and chosen.strip() else None


def expected_digests(metadata: Mapping[str, str]) -> dict[str, bytes]:
    return digests(metadata.get(REPR_DIGEST))


def wanted_digests(metadata: Mapping[str, str]) -> list[str]:
    names = metadata.get(WANT_REPR_DIGEST, "")
    return [DIGEST_ALGORITHMS[n] for n in names.split(",") if n in DIGEST_ALGORITHMS]
