"""Structured logs and the request id that follows a customer message through the processes.

* ``LOG_FORMAT=json`` turns every log line of the process into one JSON object (``ts`` UTC ISO 8601,
  ``level``, ``logger``, ``message``, ``request_id``, ``sender`` and ``exc`` when there is one). Sender
  ids in JSON fields are hashed (:func:`sender_hash`); phone and ID numbers in messages are already
  masked by :func:`bot.domain.pii.install_log_redaction`.
* A request id is taken from the load balancer's ``X-Request-ID`` header (nginx sets it) or made up by
  the channel, kept in a context variable for the log lines of that turn, put into the message's
  metadata (``request_id``) — so Rasa sends it to the action server inside the tracker, where
  :mod:`bot.action_server` picks it up for its own log lines — and is available to code that queues a
  job (:func:`current_request_id`) to pass along.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import uuid
from datetime import datetime, timezone
from typing import Any, Optional

REQUEST_ID_HEADER = "X-Request-ID"
METADATA_KEY = "request_id"

_request_id: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("powerbot_request_id", default=None)
_sender: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("powerbot_sender", default=None)


def new_request_id(incoming: Optional[str] = None) -> str:
    """``incoming`` (a load balancer's id) when it looks like one, else a new random id (32 hex digits)."""
    if incoming and 8 <= len(incoming) <= 64 and all(c.isalnum() or c in "-_" for c in incoming):
        return incoming
    return uuid.uuid4().hex


def bind(request_id: Optional[str], sender_id: Optional[str] = None) -> None:
    """Attach ``request_id`` (and the conversation) to this task's log lines from now on."""
    _request_id.set(request_id)
    if sender_id is not None:
        _sender.set(sender_id)


def current_request_id() -> Optional[str]:
    """The request id of the turn this code runs in (to pass to a job it queues), or None."""
    return _request_id.get()


def sender_hash(sender_id: str) -> str:
    """A stable, non-reversible short form of a sender id for logs (12 hex digits of SHA-256)."""
    return hashlib.sha256(sender_id.encode()).hexdigest()[:12]


class JsonFormatter(logging.Formatter):
    """One JSON object per log line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = _request_id.get()
        if request_id:
            entry["request_id"] = request_id
        sender = _sender.get()
        if sender:
            entry["sender"] = sender_hash(sender)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def install_json_logs(log_format: str) -> None:
    """With ``log_format == "json"``, format every handler of the root logger (and ones added later by
    Rasa through ``logging.basicConfig``) as JSON lines (idempotent)."""
    if log_format != "json":
        return
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig()
    for handler in root.handlers:
        if not isinstance(handler.formatter, JsonFormatter):
            handler.setFormatter(JsonFormatter())
