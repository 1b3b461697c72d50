"""`Tus-Extension`: derived from what the engine's stores offer, never hard-coded."""

from __future__ import annotations

from collections.abc import Callable

from ..engine import Engine


def _always(engine: Engine) -> bool:
    # Every byte store creates uploads, takes bytes in the creation request and may
    # learn the length later (writers are not told a length); checksums are computed by
    # the engine over the bytes it hands to a writer, and `discard` undoes a mismatch;
    # every metadata store can list what expired.
    return True


_EXTENSIONS: tuple[tuple[str, Callable[[Engine], bool]], ...] = (
    ("creation", _always),
    ("creation-with-upload", _always),
    ("creation-defer-length", _always),
    ("expiration", _always),
    ("checksum", _always),
    ("checksum-trailer", _always),
    ("termination", lambda e: e.can_terminate),
    ("concatenation", lambda e: e.can_concatenate),
    ("concatenation-unfinished", lambda e: e.can_concatenate),
)


def extensions(engine: Engine) -> tuple[str, ...]:
    """The `Tus-Extension` values, in the order tus lists them, for what is offered."""
    return tuple(name for name, offered in _EXTENSIONS if offered(engine))
