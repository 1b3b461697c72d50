"""The upload page: Uppy's Dashboard on this server's tus (or IETF-draft) endpoint, served
from files vendored into the package, under a strict Content-Security-Policy (docs/ui.md)."""

from .mount import mount

__all__ = ["mount"]
