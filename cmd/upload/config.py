"""Server settings: one frozen object built from flags or `UPLOAD_*` environment variables."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path

ENV_PREFIX = "UPLOAD_"
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$")
_SIZE = re.compile(r"^(\d+)([kmgt]i?b?)?$", re.IGNORECASE)
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """'90', '30s', '15m', '24h', '7d' -> seconds; '0' disables."""
    match = _DURATION.match(text.strip().lower())
    if match is None:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 15m, 24h, 7d)")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def parse_size(text: str) -> int:
    """'1073741824', '512MiB', '10GB', '1g' -> bytes (binary multiples)."""
    match = _SIZE.match(text.strip())
    if match is None:
        raise ValueError(f"not a size: {text!r} (use e.g. 1048576, 512MiB, 10GiB)")
    unit = (match.group(2) or "").lower()[:1]
    power: int = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}[unit]
    return int(match.group(1)) * (1 << (10 * power))


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    base_path: str = "/files/"
    data_dir: Path = Path("./data")
    max_size: int = 0  # 0: no limit
    expire_after: float = 24 * 3600.0  # 0: uploads never expire
    sweep_interval: float = 60.0
    fsync: str = "patch"
    group_sync: bool = True  # short bodies: one syncfs per batch instead of per-file syncs
    cors_origins: tuple[str, ...] = ("*",)
    behind_proxy: bool = False
    lock_timeout: float = 5.0
    shutdown_timeout: float = 10.0
    workers: int = 1
    io_threads: int = 16
    store: str = "file"
    state: str = ""  # '' -> sqlite under data_dir; or sqlite:///..., redis://..., postgresql://...
    s3_endpoint: str = ""
    s3_bucket: str = ""
    s3_region: str = "us-east-1"
    s3_prefix: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_path_style: bool = True
    s3_part_size: int = 16 * 1024 * 1024
    redis_prefix: str = "tus:"
    pg_schema: str = "public"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def router_base(self) -> str:
        """Base path without the trailing slash, as the generated router takes it."""
        return "/" + self.base_path.strip("/") if self.base_path.strip("/") else ""

    @property
    def location_base(self) -> str:
        """Base path with one trailing slash, as upload URLs are built."""
        return self.router_base + "/"

    def to_env(self) -> dict[str, str]:
        """Settings as `UPLOAD_*` variables, so worker processes rebuild the same object."""
        env: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "extra":
                continue
            if isinstance(value, tuple):
                text = ",".join(value)
            elif isinstance(value, bool):
                text = "1" if value else "0"
            else:
                text = str(value)
            env[ENV_PREFIX + f.name.upper()] = text
        return env

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        source = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            key = ENV_PREFIX + f.name.upper()
            if f.name == "extra" or key not in source:
                continue
            raw = source[key]
            default = getattr(cls(), f.name)
            if isinstance(default, bool):
                values[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
            elif isinstance(default, tuple):
                values[f.name] = tuple(o.strip() for o in raw.split(",") if o.strip())
            elif isinstance(default, Path):
                values[f.name] = Path(raw)
            elif f.name in ("max_size", "s3_part_size"):
                values[f.name] = parse_size(raw)
            elif f.name in ("expire_after", "sweep_interval", "lock_timeout", "shutdown_timeout"):
                values[f.name] = parse_duration(raw)
            elif isinstance(default, int):
                values[f.name] = int(raw)
            else:
                values[f.name] = raw
        return cls(**values)  # type: ignore[arg-type]
