"""Logging: one JSON object a line, the fields of the request being served, and redaction.

``request_fields()`` opens a dict for one request (the access middleware does it); services add
what they learn with ``note(user=…, task_id=…)``, and every line logged while the request runs
carries them, the access line at its end included. The dict is shared, not copied, so what a
handler running in a worker thread notes is seen by the middleware.

Nothing logs a request or response body. As the last line of defence the formatters still
redact, in every line: JWTs, ``Bearer …`` credentials, gateway API keys, values after words like
``secret``, ``password`` or ``api_key``, and long Base64 runs (images).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

FORMATS = ("json", "text")
FORMAT_ENV = "KLING_GATEWAY_LOG_FORMAT"
"""How ``serve --workers N`` tells its worker processes the ``--log-format``."""
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

_fields: ContextVar[dict[str, Any] | None] = ContextVar("kling_log_fields", default=None)

_REDACTIONS = (
    # A JWT: base64url of '{"' is 'eyJ'; header, payload, signature.
    (re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*)?"),
     "[redacted-jwt]"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[^\s\"',;]+"), r"\1 [redacted]"),
    (re.compile(r"\bkga?-[A-Za-z0-9_-]{16,}"), "[redacted-key]"),  # API keys, the demo admin
    (re.compile(r"(?i)\b([a-z_]*(?:secret(?:[_-]?key)?|password|passwd|api[_-]?key|"
                r"access[_-]?key|admin[_-]?token|token|authorization)s?)([\"']?\s*[:=]\s*[\"']?)"
                r"([^\s\"',;&}\]]+)"), r"\1\2[redacted]"),
)
MIN_BASE64_RUN = 100
_BASE64_RUN = re.compile(rf"[A-Za-z0-9+/_-]{{{MIN_BASE64_RUN},}}={{0,2}}")
_CLUES = ("eyj", "bearer", "basic", "kg-", "kga-", "secret", "passw", "key", "token",
          "authorization")
"""Every redaction but the Base64 run needs one of these (in lower case) in the text: short
text without any is left as it is, which spares nearly every field of nearly every line the
five patterns."""


def redact(text: str) -> str:
    """``text`` without credentials or Base64 blobs."""
    if len(text) < MIN_BASE64_RUN:
        lowered = text.lower()
        if not any(clue in lowered for clue in _CLUES):
            return text
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return _BASE64_RUN.sub(lambda m: f"[redacted-base64 {len(m.group())} chars]", text)


@contextmanager
def request_fields() -> Iterator[dict[str, Any]]:
    """The fields of the request served inside the block."""
    fields: dict[str, Any] = {}
    token = _fields.set(fields)
    try:
        yield fields
    finally:
        _fields.reset(token)


def note(**fields: Any) -> None:
    """Record facts about the request being served (no-op outside a request)."""
    current = _fields.get()
    if current is not None:
        current.update((key, value) for key, value in fields.items() if value is not None)


def current_fields() -> dict[str, Any]:
    return dict(_fields.get() or {})


MAX_EXCEPTION_TEXT = 300
"""An exception's message can quote what it choked on (a request body, a row): a traceback
carries only this much of each message. Its frames show code, never data."""


def format_exception(exc_info: Any) -> str:
    """The traceback, with each exception's message cut to MAX_EXCEPTION_TEXT characters."""
    lines: list[str] = []
    for line in traceback.TracebackException(*exc_info).format():
        if not line.startswith(" ") and len(line) > MAX_EXCEPTION_TEXT:
            line = f"{line[:MAX_EXCEPTION_TEXT]}… ({len(line)} characters)\n"
        lines.append(line)
    return "".join(lines).rstrip("\n")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the request's fields and the
    record's ``fields`` extra, then the traceback if any; every string redacted."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(current_fields())
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(_redacted(entry), ensure_ascii=False, default=str)

    def formatException(self, ei: Any) -> str:
        return format_exception(ei)


class TextFormatter(logging.Formatter):
    """The classic one-line text, with the record's ``fields`` as ``key=value`` and redacted."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = getattr(record, "fields", None)
        if fields:
            text += " " + " ".join(f"{key}={value}" for key, value in fields.items()
                                   if value is not None)
        return redact(text)

    def formatException(self, ei: Any) -> str:
        return format_exception(ei)


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    return value


def configure(log_format: str = "json", level: int = logging.INFO) -> None:
    """Send every log line to stderr in ``log_format`` (``json`` or ``text``)."""
    if log_format not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {log_format!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
