"""Interop versions: which rules of which draft revision a request is served by.

`Upload-Draft-Interop-Version` selects the behaviour per request. Two profiles:

- 9: the current text (drafts -12 and later). 7 and 8 (drafts -06 to -11) are served by
  it too: for everything this server does, their messages are the same (`max-age`,
  `application/partial-upload`, `Upload-Complete` on every append response).
- 6: drafts -04/-05, what tus-js-client's `ietf-draft-05` and URLSession on iOS 18 send:
  `expires` instead of `max-age`, HEAD and DELETE refuse the upload fields (400), and
  appends are acknowledged with 201. 5 (draft -03, tus-js-client's `ietf-draft-03`) is served by it
  too, without the `application/partial-upload` requirement that draft -04 added.

Anything else (1-4 used `Upload-Incomplete` or predate `Upload-Complete`'s current use,
10 and later are unknown) is refused with a problem listing what is served. The 104 a
request gets carries the request's own version, as a client ignores a 104 whose version
is not the one it sent.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Profile:
    version: int
    """The version the request named (echoed in 104 responses)."""
    lifetime_key: str
    """`Upload-Limit` member for the remaining lifetime: `max-age` (9) / `expires` (6)."""
    partial_media_type: bool
    """Appends must be `application/partial-upload`."""
    strict_fields: bool
    """HEAD and DELETE refuse `Upload-Offset` / `Upload-Complete` (/ `Upload-Length`)."""
    append_created: bool
    """Appends are acknowledged with 201 (6) instead of 204 when the upload goes on."""


def _current(version: int) -> Profile:
    return Profile(version, "max-age", True, False, False)


def _draft05(version: int, *, media_type: bool = True) -> Profile:
    return Profile(version, "expires", media_type, True, True)


PROFILES: dict[int, Profile] = {
    9: _current(9),
    8: _current(8),
    7: _current(7),
    6: _draft05(6),
    5: _draft05(5, media_type=False),
}
SUPPORTED = sorted(PROFILES, reverse=True)
PARTIAL_UPLOAD = "application/partial-upload"
