"""The headers every UI response carries: a strict Content-Security-Policy and friends.

Scripts run only from this origin's files (the page's configuration is a JSON data block,
which is not executed, so no inline script is needed); uploads and the limits request go
to this origin only; nothing is framed. Uppy's Dashboard sets element styles through the
CSSOM, which `style-src 'self'` allows; image previews are `blob:` URLs (docs/ui.md).
"""

from __future__ import annotations

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)

HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
