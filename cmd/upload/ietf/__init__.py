"""The IETF "Resumable Uploads for HTTP" draft adapter: the generated `ietf` service on the
upload engine (interop versions 9 and 6; see docs/ietf.md)."""

from .mount import mount

__all__ = ["mount"]
