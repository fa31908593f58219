"""What each of our processes installs once, explicitly, when it starts — the one place for it.

Nothing in the package patches or installs anything when it is imported. Instead every entry point
calls one function here before it serves:

* :func:`start_cli` — the ``bot`` command (``bot/cli.py``);
* :func:`start_action_server` — the action server (``bot/action_server.py``);
* :func:`start_rasa_server` — the Rasa server. Rasa loads our channels by import and then creates
  each with ``from_credentials`` (``credentials.yml``) before it builds its web app and loads the
  model; that is the earliest hook we own, so every channel's ``from_credentials`` calls it.

Each function is idempotent (a process may call it several times, e.g. once per channel) and
raises :class:`bot.config.ConfigError` for a bad or missing setting, so a typo stops the process
before it answers anyone.
"""

from __future__ import annotations

import logging
import threading
import warnings

from bot.clock import local_today
from bot.config import ConfigError, Settings, get_settings
from bot.db import SQLITE_DECIMAL_WARNING
from bot.domain.pii import install_log_redaction
from bot.domain.rules import calendar_gaps, get_rules

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_started: set[str] = set()

#: Largest request body the Rasa server accepts (bytes). WeChat and Twilio webhooks, the console's
#: JSON and the REST channel are all far below it; no endpoint takes uploads (photos arrive as
#: WeChat media ids and are fetched by us). Sanic refuses a bigger Content-Length with 413 before
#: reading the body.
RASA_SERVER_MAX_REQUEST_BYTES = 1024 * 1024

#: Largest action call the action server accepts (bytes). Rasa posts the whole tracker (every event
#: of the conversation session) and the domain with each call; sessions expire after an hour of
#: silence, and the domain is about 0.1 MB, so this leaves ample room while refusing a flood.
ACTION_SERVER_MAX_REQUEST_BYTES = 16 * 1024 * 1024


def _once(what: str) -> bool:
    """True the first time ``what`` is asked for in this process."""
    with _lock:
        if what in _started:
            return False
        _started.add(what)
        return True


def _require_action_server_token(settings: Settings) -> None:
    if not settings.action_server_token:
        raise ConfigError(
            "ACTION_SERVER_TOKEN: required (the shared secret between the Rasa server and the action server; "
            "generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )


def warn_calendar_gaps() -> None:
    """Log once per process when the working calendar in ``service_rules.yml`` lacks this year's (or,
    in December, next year's) public holidays: working-day deadlines then count Monday–Friday only."""
    if not _once("calendar"):
        return
    settings = get_settings()
    for year in calendar_gaps(get_rules(), local_today()):
        logger.warning("%s lists no public holidays for %s: working-day deadlines count Monday–Friday only "
                       "(add the State Council's holiday notice to calendar:)", settings.service_rules_file, year)


def _common() -> Settings:
    settings = get_settings()
    install_log_redaction()
    if _once("warnings"):
        warnings.filterwarnings("ignore", message=SQLITE_DECIMAL_WARNING)
    return settings


def start_cli() -> Settings:
    """The ``bot`` command: settings checked, phones masked in its log lines."""
    return _common()


def start_action_server() -> Settings:
    """The action server: settings checked (``ACTION_SERVER_TOKEN`` required), log redaction, and
    the calendar warning once."""
    settings = _common()
    _require_action_server_token(settings)
    warn_calendar_gaps()
    return settings


def start_rasa_server() -> Settings:
    """The Rasa server: settings checked (``ACTION_SERVER_TOKEN`` required: it is sent with every
    action call), log redaction, Rasa's faster internals (:mod:`bot.rasa_speedups`: the action-response
    check, pooled and faster-encoded action calls), the calendar warning once."""
    settings = _common()
    _require_action_server_token(settings)
    if _once("rasa_speedups"):
        # imported here, not at the top: it imports Rasa (seconds of start-up), which the bot command
        # and the action server never need; this is no cycle (rasa_speedups imports nothing of ours)
        from bot import rasa_speedups

        rasa_speedups.install()
    warn_calendar_gaps()
    return settings
