"""Log lines as readable text (default) or one JSON object per line (`--log-format json`).

The same formats serve the request log (requestlog.py), the server's own messages and
uvicorn's, so a log shipper sees one shape. Messages never carry credentials: request
lines have no headers and no query strings, and URLs are logged through `redact_url`.
"""

from __future__ import annotations

import datetime
import json
import logging
import time
from typing import Any

TEXT_FORMAT = "%(asctime)s.%(msecs)03dZ %(levelname)s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
QUIET_LOGGERS = ("httpx", "httpcore", "aiohttp", "aio_pika", "aiormq", "nats")


class TextFormatter(logging.Formatter):
    """`2026-01-02T03:04:05.678Z INFO logger: message`, UTC like the request lines."""

    converter = staticmethod(time.gmtime)

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT, DATE_FORMAT)


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "msg"[, "exc"]}` per record."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def formatter(kind: str) -> logging.Formatter:
    return JsonFormatter() if kind == "json" else TextFormatter()


def configure_logging(kind: str, level: int = logging.INFO) -> None:
    """The root logger writes `kind` lines to stderr."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(kind))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for chatty in QUIET_LOGGERS:  # httpx logs each hook request's URL at INFO
        logging.getLogger(chatty).setLevel(logging.WARNING)


def uvicorn_log_config(kind: str) -> dict[str, Any]:
    """uvicorn's own loggers in the same format (passed as `log_config`)."""
    fmt = {"()": f"{__name__}.{'JsonFormatter' if kind == 'json' else 'TextFormatter'}"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": fmt},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
        },
    }
