"""Server settings, declared once: each field is a flag, an `UPLOAD_*` environment
variable, a default and a line of `--help`.

Precedence: flags, then the environment, then the default. Values are strings on the
command line and in the environment (`30s`, `512MiB`, `a,b`); validators turn them into
seconds, bytes and tuples, so a bad value is one clear line, never a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from tuskit.persist.fsync import FsyncPolicy

HEALTH_PATHS = ("/healthz", "/readyz")  # liveness, readiness (health.py serves them)

ENV_PREFIX = "UPLOAD_"
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$")
_SIZE = re.compile(r"^(\d+)([kmgt]i?b?)?$", re.IGNORECASE)
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
HOOK_EVENTS = (
    "pre-create",
    "post-create",
    "post-receive",
    "pre-finish",
    "post-finish",
    "pre-terminate",
    "post-terminate",
    "pre-access",
)
_URL_SCHEMES = {
    "hooks_http": ("http://", "https://"),
    "events_nats": ("nats://", "tls://"),
    "events_amqp": ("amqp://", "amqps://"),
}
_STATE_SCHEMES = ("sqlite:///", "redis://", "rediss://", "unix://", "postgresql://", "postgres://")


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


def _duration(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


def _size(value: Any) -> Any:
    return parse_size(value) if isinstance(value, str) else value


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def _flag(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"not a yes/no value: {value!r} (use 1 or 0)")
    return value


Duration = Annotated[float, BeforeValidator(_duration), Field(ge=0)]
Size = Annotated[int, BeforeValidator(_size), Field(ge=0)]
CommaList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_comma_list)]
Flag = Annotated[bool, BeforeValidator(_flag)]


class Settings(BaseSettings):
    """Everything `upload` can be told; `--help` prints each field's description."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid")

    host: str = Field(default="127.0.0.1", description="listen address")
    port: int = Field(default=8080, ge=0, le=65535, description="listen port")
    base_path: str = Field(default="/files/", description="URL path of tus uploads")
    data_dir: Path = Field(default=Path("./data"), description="where bytes and state go")
    max_size: Size = Field(default=0, description="largest upload (e.g. 10GiB); 0 = no limit")
    expire_after: Duration = Field(
        default=24 * 3600.0, description="unfinished uploads expire after (0 = never)"
    )
    sweep_interval: Duration = Field(
        default=60.0, gt=0, description="how often expired uploads are removed"
    )
    fsync: str = Field(default="patch", description="patch (default), never, or interval:5s")
    group_sync: Flag = Field(
        default=True,
        description="one syncfs per batch of short uploads; --no-group-sync syncs each"
        " file and directory instead (a data dir on a filesystem shared with heavy writers)",
    )
    cors_origins: CommaList = Field(
        default=("*",), description="comma-separated allowed origins, * for any"
    )
    behind_proxy: Flag = Field(
        default=False, description="trust Forwarded / X-Forwarded-* for Location"
    )
    lock_timeout: Duration = Field(
        default=5.0, description="how long a request waits for a busy upload"
    )
    stall_timeout: Duration = Field(
        default=2.0,
        description="a running PATCH that brought no bytes for this long may be taken over"
        " by another; a healthy one is never interrupted (HEAD never interrupts)",
    )
    idle_timeout: Duration = Field(
        default=60.0,
        description="a request body that brings no bytes for this long is ended, keeping"
        " what arrived (0 = never)",
    )
    header_timeout: Duration = Field(
        default=30.0,
        description="a connection that has not sent complete request headers in this"
        " time is closed (0 = never)",
    )
    max_header_size: Size = Field(
        default=64 * 1024,
        description="largest request line + headers in total, answered 431 past it (0 = no limit)",
    )
    max_metadata_size: Size = Field(
        default=16 * 1024,
        description="largest upload metadata (keys and decoded values), answered 400 past it",
    )
    max_concat_parts: int = Field(
        default=100, ge=1, description="most partial uploads one final upload may join"
    )
    shutdown_timeout: Duration = Field(default=10.0, description="bound on graceful shutdown")
    workers: int = Field(default=1, ge=1, description="worker processes")
    io_threads: int = Field(
        default=16, ge=1, description="threads per worker for fsync and file creation"
    )
    store: Literal["file", "s3"] = Field(default="file", description="where bytes go: file or s3")
    state: str = Field(
        default="",
        description="where state goes: sqlite (default), sqlite:///path, redis://...,"
        " postgresql://...",
    )
    s3_endpoint: str = Field(default="", description="S3 API URL (empty: AWS)")
    s3_bucket: str = Field(default="", description="bucket for upload objects")
    s3_region: str = Field(default="us-east-1", description="S3 region")
    s3_prefix: str = Field(default="", description="key prefix inside the bucket")
    s3_access_key: str = Field(
        default="", description="access key (prefer the environment variable)", repr=False
    )
    s3_secret_key: str = Field(
        default="", description="secret key (prefer the environment variable)", repr=False
    )
    s3_path_style: Flag = Field(
        default=True,
        description="path-style S3 addressing (SeaweedFS, MinIO); --no-s3-path-style for AWS",
    )
    s3_part_size: Size = Field(
        default=16 * 1024 * 1024, description="preferred multipart part size (at least 5MiB)"
    )
    redis_prefix: str = Field(
        default="tus:", description="key prefix with --state redis://... (one per deployment)"
    )
    pg_schema: str = Field(
        default="public", description="schema with --state postgresql://... (created on start)"
    )
    tus: Flag = Field(
        default=True, description="serve tus under --base-path; --no-tus serves the others only"
    )
    streams: Flag = Field(
        default=True,
        description="serve the HTTP stream store and its FIFO queues under --streams-path;"
        " --no-streams turns it off",
    )
    streams_path: str = Field(default="/v1", description="URL path of the stream store API")
    ietf: Flag = Field(
        default=True,
        description="serve the IETF resumable-upload draft (interop 9 and 6) beside tus;"
        " --no-ietf turns it off",
    )
    ietf_path: str = Field(
        default="/uploads/", description="URL path of IETF-draft uploads (Resumable Uploads)"
    )
    ietf_progress_interval: Duration = Field(
        default=2.0,
        description="seconds between progress 104s (each a recorded checkpoint) while a"
        " long IETF-draft body streams (0 = none)",
    )
    ui: Flag = Field(
        default=True,
        description="serve the upload page (Uppy) at --ui-path; --no-ui turns it off",
    )
    ui_path: str = Field(
        default="/", description="URL path of the upload page (its files go below <path>_ui/)"
    )

    # -- operations (docs/operations.md): hooks, events, auth, metrics, logs ---------------
    hooks_http: str = Field(
        default="", description="URL that receives tusd-compatible hook requests (JSON POST)"
    )
    hooks_http_forward_headers: CommaList = Field(
        default=(), description="request headers copied onto blocking hook requests"
    )
    hooks_http_timeout: Duration = Field(default=5.0, gt=0, description="one hook request")
    hooks_http_retries: int = Field(
        default=2, ge=0, le=10, description="retries of a blocking hook on 5xx/network errors"
    )
    hooks_http_backoff: Duration = Field(
        default=0.2, description="first retry delay of a blocking hook (doubles each time)"
    )
    hooks_http_max_response: Size = Field(
        default=64 * 1024, gt=0, description="largest hook response body accepted"
    )
    hooks_python: str = Field(
        default="", description="module:object whose async methods are hooks (embedding)"
    )
    hooks_enabled_events: CommaList = Field(
        default=("pre-create", "post-create", "post-receive", "post-terminate", "post-finish"),
        description="hook events to send (also pre-access, pre-finish, pre-terminate)",
    )
    progress_hooks_interval: Duration = Field(
        default=1.0, description="at most one post-receive per upload per interval"
    )
    hooks_pre_finish_rejected: Literal["keep", "remove"] = Field(
        default="keep", description="what a pre-finish rejection does to the bytes"
    )
    events_nats: str = Field(
        default="", description="publish events to NATS JetStream (nats://host:4222)", repr=False
    )
    events_nats_subject: str = Field(
        default="tuskit.events", description="subject prefix (<prefix>.<event type>)"
    )
    events_nats_stream: str = Field(default="TUSKIT", description="JetStream stream name")
    events_amqp: str = Field(
        default="", description="publish events to RabbitMQ (amqp://user:pass@host/)", repr=False
    )
    events_amqp_exchange: str = Field(
        default="tuskit.events", description="durable topic exchange (key: the event type)"
    )
    outbox_max_backoff: Duration = Field(
        default=60.0, gt=0, description="longest wait between deliveries of a failing event"
    )
    auth_jwt_secret: str = Field(
        default="", description="HS256 secret for bearer tokens (prefer the env)", repr=False
    )
    auth_jwt_jwks: str = Field(default="", description="JWKS file with the token signing keys")
    auth_jwt_audience: str = Field(default="", description="required `aud` claim, if any")
    auth_jwt_issuer: str = Field(default="", description="required `iss` claim, if any")
    auth_jwt_owner_claim: str = Field(
        default="sub", description="claim naming the user; only they may use their uploads"
    )
    auth_jwt_owner_key: str = Field(
        default="owner", description="metadata key where an upload's owner is kept"
    )
    metrics: Flag = Field(default=True, description="serve Prometheus metrics (--no-metrics)")
    metrics_path: str = Field(default="/metrics", description="URL path of the metrics")
    log_format: Literal["text", "json"] = Field(
        default="text", description="text or json log lines"
    )
    log_requests: Flag = Field(default=True, description="one log line per request")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="the least severe log lines written"
    )

    sessions: Flag = Field(
        default=True,
        description="serve session-based chunked uploads (--no-sessions turns them off)",
    )
    sessions_path: str = Field(default="/attachment", description="URL path of session uploads")
    chunk_size: Size = Field(
        default=8 * 1024 * 1024,
        description="session chunk size (a multiple of 4KiB; raised to the store's minimum"
        " part: 5MiB for S3)",
    )
    session_expire_after: Duration = Field(
        default=24 * 3600.0,
        description="a session not completed this long after its last chunk expires (0 = never)",
    )

    @field_validator("chunk_size")
    @classmethod
    def _chunk_size(cls, value: int) -> int:
        if value < 4096 or value % 4096:
            raise ValueError("must be a positive multiple of 4KiB (e.g. 8MiB)")
        return value

    @field_validator("sessions_path")
    @classmethod
    def _sessions_path(cls, value: str) -> str:
        inner = value.strip().strip("/")
        if not inner:
            raise ValueError("must name a path below the root, e.g. /attachment")
        return f"/{inner}"

    @field_validator("base_path", "ietf_path")
    @classmethod
    def _one_slash_each_side(cls, value: str) -> str:
        inner = value.strip().strip("/")
        return f"/{inner}/" if inner else "/"

    @field_validator("ui_path")
    @classmethod
    def _ui_path(cls, value: str) -> str:
        inner = value.strip().strip("/")
        dots = any(segment in (".", "..") for segment in inner.split("/"))
        if not re.fullmatch(r"[A-Za-z0-9._~/-]*", inner) or "//" in inner or dots:
            raise ValueError(f"not a URL path: {value!r} (use e.g. / or /upload/)")
        return f"/{inner}/" if inner else "/"

    @field_validator("streams_path")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        inner = value.strip().strip("/")
        return f"/{inner}" if inner else ""

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("fsync")
    @classmethod
    def _fsync_policy(cls, value: str) -> str:
        FsyncPolicy.parse(value)  # raises ValueError with the accepted forms
        return value

    @field_validator("state")
    @classmethod
    def _state_url(cls, value: str) -> str:
        if value in ("", "sqlite") or value.startswith(_STATE_SCHEMES):
            return value
        raise ValueError(
            f"unknown state store {value!r}: use sqlite, sqlite:///path, redis://...,"
            " postgresql://..."
        )

    @field_validator("hooks_enabled_events")
    @classmethod
    def _known_events(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in value if name not in HOOK_EVENTS]
        if unknown:
            raise ValueError(f"unknown hook event {unknown[0]!r}: use {', '.join(HOOK_EVENTS)}")
        return value

    @field_validator("hooks_http", "events_nats", "events_amqp")
    @classmethod
    def _url(cls, value: str, info: ValidationInfo) -> str:
        schemes = _URL_SCHEMES[str(info.field_name)]
        if value and not value.startswith(schemes):
            raise ValueError(f"must start with {' or '.join(schemes)}")
        return value

    @field_validator("hooks_python")
    @classmethod
    def _module_object(cls, value: str) -> str:
        if value and not re.fullmatch(r"[\w.]+:[\w.]+", value):
            raise ValueError(f"not module:object: {value!r}")
        return value

    @field_validator("metrics_path")
    @classmethod
    def _metrics_path(cls, value: str) -> str:
        path = "/" + value.strip().strip("/")
        if path == "/":
            raise ValueError("the metrics need a path of their own, e.g. /metrics")
        return path

    @property
    def router_base(self) -> str:
        """Base path without the trailing slash, as the generated router takes it."""
        return self.base_path.rstrip("/")

    @property
    def ietf_base(self) -> str:
        """IETF-draft base path without the trailing slash, as the router takes it."""
        return self.ietf_path.rstrip("/")

    @property
    def ui_taken_by(self) -> str | None:
        """What is served where --ui-path points, or above it (tus with `--base-path /` and
        `--ui-path /`, `/files/sub/`, `/healthz/`): the page would hide it or be hidden by it.
        A protocol at the root leaves other paths to the page (ids are never `page/`)."""
        paths = {
            "tus": (self.tus, self.base_path),
            "ietf": (self.ietf, self.ietf_path),
            "sessions": (self.sessions, self.sessions_path + "/"),
            "streams": (self.streams, self.streams_path + "/"),
            "metrics": (self.metrics, self.metrics_path.rstrip("/") + "/"),
            **{p.strip("/"): (True, p + "/") for p in HEALTH_PATHS},
        }
        ui = self.ui_path
        return next(
            (
                k
                for k, (on, path) in paths.items()
                if on and (ui == path or (path != "/" and ui.startswith(path)))
            ),
            None,
        )

    @property
    def ui_served(self) -> bool:
        """The page is served unless turned off or its path is a protocol's: tus moved to
        `/` keeps working and the page steps aside (an explicit --ui-path there is refused
        by the command line)."""
        return self.ui and self.ui_taken_by is None

    @property
    def location_base(self) -> str:
        """Base path with one trailing slash, as upload URLs are built."""
        return self.router_base + "/"

    def to_env(self) -> dict[str, str]:
        """Settings as `UPLOAD_*` variables, so worker processes rebuild the same object."""
        env: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, tuple):
                text = ",".join(value)
            elif isinstance(value, bool):
                text = "1" if value else "0"
            else:
                text = str(value)
            env[ENV_PREFIX + name.upper()] = text
        return env

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """From `environ` (default: the process environment) and the defaults."""
        if environ is None:
            return cls()
        values = {
            name: environ[ENV_PREFIX + name.upper()]
            for name in cls.model_fields
            if ENV_PREFIX + name.upper() in environ
        }
        return cls.model_validate(values)
