"""`Upload-Limit`: the limits an upload resource (or the endpoint, before creation) has.

`max-size` is `--max-size`; the remaining lifetime (`max-age` in interop 9, `expires` in 6)
counts down to the upload's sliding expiry (each append moves it forward, so it never
decreases between responses, as the draft asks), or is `--expire-after` before the upload
exists. A finished upload does not expire. Without any limit the value is `min-size=0`,
never empty (the draft's MUST for OPTIONS; used everywhere for one rule).
"""

from __future__ import annotations

import math

from tuskit.persist.model import UploadInfo

from ..engine import Engine
from .fields import dictionary_field
from .profiles import Profile


def upload_limit(engine: Engine, profile: Profile, info: UploadInfo | None = None) -> str:
    members: dict[str, int] = {}
    if engine.options.max_size is not None:
        members["max-size"] = engine.options.max_size
    lifetime = _lifetime(engine, info)
    if lifetime is not None:
        members[profile.lifetime_key] = lifetime
    return dictionary_field(members or {"min-size": 0})


def _lifetime(engine: Engine, info: UploadInfo | None) -> int | None:
    if info is None:
        after = engine.options.expire_after
        return int(after) if after > 0 else None
    at = engine.expires_at(info)
    if at is None:
        return None
    return max(0, math.floor(at - engine.clock()))
