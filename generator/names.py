"""Name derivations shared by validation and view models (computed once per name)."""

from __future__ import annotations

import keyword
import re

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PASCAL = re.compile(r"^[A-Z][A-Za-z0-9]*$")
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
HEADER_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def field_name(http_name: str) -> str:
    """`Upload-Offset` -> `upload_offset`, `ETag` -> `etag`, `from` -> `from_`."""
    name = re.sub(r"[^0-9A-Za-z]+", "_", http_name).strip("_").lower()
    if not name or name[0].isdigit():
        name = "f_" + name
    return name + "_" if keyword.iskeyword(name) else name


def snake(name: str) -> str:
    """`OffsetMismatch` -> `offset_mismatch`, `options_upload` stays."""
    return re.sub(r"[^0-9A-Za-z]+", "_", _CAMEL.sub("_", name)).strip("_").lower()


def pascal(name: str) -> str:
    """`options_upload` -> `OptionsUpload`, `tus` -> `Tus`."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", name))
