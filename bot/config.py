"""Settings from the environment — the one place configuration is read.

Every variable is documented in README.md ("Configuration"). Nothing else in the
package reads ``os.environ``; code receives a :class:`Settings` (usually through
:func:`get_settings`). Tests build their own ``Settings`` with :func:`load_settings`
and an explicit mapping, so they never depend on the developer's shell.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import re
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Callable, Dict, FrozenSet, Mapping, Tuple, TypeVar

#: The repository root (``bot/`` lives directly under it).
ROOT = Path(__file__).resolve().parent.parent

#: Local time of the utility; every date a customer sees is in it.
LOCAL_TZ = "Asia/Shanghai"


T = TypeVar("T")

#: How an environment variable may say yes or no (anything else is an error, e.g. ``ture``).
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})

_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
_HOURS = re.compile(r"^\s*(\d{2}:\d{2})\s*-\s*(\d{2}:\d{2})\s*$")


class ConfigError(ValueError):
    """A setting that cannot be used. The message is one line that starts with the variable's name,
    e.g. ``CONSOLE_LOGIN_IP_LIMIT: expected an integer, got '4s'``. Raised by :func:`load_settings`
    (so at start-up: every entry point calls :func:`get_settings` before serving)."""


def parse_bool(name: str, value: str) -> bool:
    """``true/false/1/0/yes/no/on/off`` (any case); anything else raises :class:`ConfigError`."""
    folded = value.strip().lower()
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    raise ConfigError(f"{name}: expected true or false (also 1/0, yes/no, on/off), got {value!r}")


def parse_int(name: str, value: str, minimum: int | None = None) -> int:
    """A base-10 integer, at least ``minimum`` when given; raises :class:`ConfigError` naming ``name``."""
    try:
        number = int(value.strip(), 10)
    except ValueError:
        raise ConfigError(f"{name}: expected an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ConfigError(f"{name}: expected an integer of at least {minimum}, got {value!r}")
    return number


def parse_float(name: str, value: str, minimum: float | None = None) -> float:
    """A finite decimal number, at least ``minimum`` when given; raises :class:`ConfigError`."""
    try:
        number = float(value.strip())
    except ValueError:
        raise ConfigError(f"{name}: expected a number, got {value!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ConfigError(f"{name}: expected a finite number, got {value!r}")
    if minimum is not None and number < minimum:
        raise ConfigError(f"{name}: expected a number of at least {minimum:g}, got {value!r}")
    return number


def parse_hours(name: str, value: str) -> str:
    """``HH:MM-HH:MM`` local time (Asia/Shanghai), e.g. ``08:00-20:00``; ``00:00-00:00`` = round
    the clock, ``22:00-06:00`` spans midnight. Returns the value normalised (``08:00-20:00``);
    raises :class:`ConfigError` for anything else (``8-20``, ``25:00-26:00``)."""
    match = _HOURS.match(value)
    try:
        if match is None:
            raise ValueError
        start, end = (time.fromisoformat(part) for part in match.groups())
    except ValueError:
        raise ConfigError(f"{name}: expected hours as HH:MM-HH:MM (e.g. 08:00-20:00), got {value!r}") from None
    return f"{start:%H:%M}-{end:%H:%M}"


def parse_choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (compared case-insensitively, returned as listed)."""
    for choice in choices:
        if value.strip().lower() == choice.lower():
            return choice
    raise ConfigError(f"{name}: expected one of {', '.join(choices)}, got {value!r}")


def parse_url(name: str, value: str, schemes: tuple[str, ...] = ("http", "https")) -> str:
    """An absolute URL with one of ``schemes``, without a trailing ``/``."""
    stripped = value.strip().rstrip("/")
    scheme, sep, rest = stripped.partition("://")
    if not sep or scheme.lower() not in schemes or not rest:
        raise ConfigError(f"{name}: expected an absolute {'/'.join(schemes)} URL, got {value!r}")
    return stripped



def parse_store_url(name: str, value: str, schemes: tuple[str, ...]) -> str:
    """A database or Redis URL whose scheme is one of ``schemes`` (``postgresql+psycopg2`` counts as
    ``postgresql``). The error names the scheme only: such URLs carry passwords."""
    scheme = value.strip().partition("://")[0].lower() if "://" in value else ""
    if scheme.split("+")[0] not in schemes:
        raise ConfigError(f"{name}: expected a {' or '.join(s + '://' for s in schemes)} URL "
                          f"(the scheme given was {scheme!r})")
    return value.strip()


def parse_existing_file(name: str, value: str) -> Path:
    """A file that must exist when the variable is set."""
    path = Path(value.strip())
    if not path.is_file():
        raise ConfigError(f"{name}: no such file: {path}")
    return path


def parse_fernet_keys(name: str, value: str) -> Tuple[str, ...]:
    """Comma-separated Fernet keys (32 url-safe base64-encoded bytes each, ``Fernet.generate_key()``), newest
    first: ``PII_KEY``. Raises :class:`ConfigError` naming ``name`` and the position of a bad key (never the
    key itself), for an empty list or a key given twice."""
    keys = tuple(part.strip() for part in value.split(",") if part.strip())
    if not keys:
        raise ConfigError(f"{name}: expected one or more Fernet keys separated by commas")
    for position, key in enumerate(keys, start=1):
        try:
            raw = base64.urlsafe_b64decode(key.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ConfigError(f"{name}: key {position} of {len(keys)} is not a Fernet key (32 url-safe "
                              f"base64-encoded bytes, from Fernet.generate_key())")
    if len(set(keys)) != len(keys):
        raise ConfigError(f"{name}: the same key is given twice")
    return keys


def _pii_lookup_key(name: str, value: str) -> str:
    """``PII_LOOKUP_KEY``: one key in the Fernet format (see :func:`parse_fernet_keys`)."""
    keys = parse_fernet_keys(name, value)
    if len(keys) != 1:
        raise ConfigError(f"{name}: expected exactly one key, got {len(keys)}")
    return keys[0]


#: What a back-office API token may be limited to (``system:token:scope+scope``).
API_SCOPES = frozenset({"tickets.read", "tickets.write", "outages.write"})


def parse_api_tokens(value: str | None) -> Dict[str, Tuple[str, FrozenSet[str]]]:
    """``INTEGRATION_API_TOKENS``: comma-separated ``system:token`` or ``system:token:scope+scope``.

    Raises :class:`ConfigError` naming the variable for an empty part, a short token (< 16 characters), an
    unknown scope or a system named twice."""
    tokens: Dict[str, Tuple[str, FrozenSet[str]]] = {}
    for part in (value or "").split(","):
        part = part.strip()
        if not part:
            continue
        pieces = part.split(":")
        if len(pieces) not in (2, 3) or not pieces[0].strip() or not pieces[1].strip():
            raise ConfigError("INTEGRATION_API_TOKENS: expected system:token[:scope+scope] pairs separated by commas")
        system, token = pieces[0].strip(), pieces[1].strip()
        if len(token) < 16:
            raise ConfigError(f"INTEGRATION_API_TOKENS: the token of {system!r} is shorter than 16 characters")
        scopes = frozenset(x.strip() for x in pieces[2].split("+") if x.strip()) if len(pieces) == 3 else frozenset()
        if scopes - API_SCOPES:
            raise ConfigError(f"INTEGRATION_API_TOKENS: unknown scope(s) {sorted(scopes - API_SCOPES)} of {system!r};"
                             f" known: {sorted(API_SCOPES)}")
        if system in tokens:
            raise ConfigError(f"INTEGRATION_API_TOKENS: system {system!r} appears twice")
        tokens[system] = (token, scopes)
    return tokens


@dataclass(frozen=True)
class Settings:
    """Effective configuration of one process."""

    database_url: str = f"sqlite:///{ROOT / 'var' / 'powerbot.db'}"
    redis_url: str | None = None
    var_dir: Path = ROOT / "var"
    # Fernet keys encrypting personal data, newest first (PII_KEY); the key of the lookup hashes (PII_LOOKUP_KEY,
    # unset = derived from the first PII_KEY, as before it existed)
    pii_keys: Tuple[str, ...] = ()
    pii_lookup_key: str | None = None
    service_rules_file: Path = ROOT / "service_rules.yml"
    public_base_url: str | None = None

    wechat_token: str | None = None
    wechat_appid: str | None = None
    wechat_secret: str | None = None
    wechat_aes_key: str | None = None
    wechat_api_base_url: str = "https://api.weixin.qq.com"
    wechat_reply_budget_s: float = 4.0
    wechat_signature_max_age_s: float = 300.0  # 0 = accept any timestamp (replaying recorded test vectors)
    wechat_menu_file: Path = ROOT / "wechat_menu.yml"
    wechat_max_concurrent_turns: int = 8

    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    twilio_api_base_url: str = "https://api.twilio.com"
    sms_reply_budget_s: float = 10.0

    tracker_store: str = "sql"  # sql | memory (Rasa conversation trackers)
    simulator_enabled: bool = False
    rest_channel_enabled: bool = False
    console_hours: str = "08:00-20:00"
    console_group_hours: Dict[str, str] = field(default_factory=dict)  # skill group -> "HH:MM-HH:MM"
    console_cookie_secure: bool = True
    console_session_idle_minutes: int = 30
    console_session_max_hours: int = 12
    console_login_ip_limit: int = 20
    console_canned_replies_file: Path = ROOT / "bot" / "console" / "canned_replies.yml"
    log_level: str = "INFO"
    action_server_token: str | None = None
    # the account's own payment page, "{account_no}" filled in (e.g. https://pay.example.cn/elec?acct={account_no})
    payment_url_template: str | None = None
    # scale-out and fault survival (README, "Configuration"; deploy/README.md)
    conversation_lock_lifetime_s: float = 10.0
    dedup_pending_ttl_s: float = 8.0
    event_broker_url: str | None = None
    event_broker_queue: str = "powerbot_events"
    log_format: str = "text"  # text | json
    # back office: systems allowed on /api/v1/ (system -> (token, scopes; empty = every operation)),
    # where customers' photos are kept, who gets an SMS when a ticket is escalated
    integration_api_tokens: Mapping[str, Tuple[str, FrozenSet[str]]] = field(default_factory=dict)
    media_dir: Path = ROOT / "var" / "media"
    escalation_sms_to: str | None = None
    # notices and the worker (bot/jobs.py)
    notice_quiet_hours: str = "21:00-08:00"
    wechat_template_ids: tuple = ()  # (("outage", "<template id>"), ...) from WECHAT_TEMPLATE_IDS
    notice_rate_wechat: float = 50.0  # requests per second to the WeChat API for notices (per worker)
    notice_rate_sms: float = 10.0  # SMS per second to Twilio for notices (per worker)
    notice_concurrency: int = 8
    notice_claim_timeout_s: float = 120.0
    # personal-data lifecycle (README, "Backups" and "Personal data"): days before transcripts, trackers and
    # outbox bodies are pruned; days the audit log is kept (at least 183: Cybersecurity Law art. 21)
    data_retention_days: int = 180
    audit_retention_days: int = 365

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_from_number)

    @property
    def wechat_api_configured(self) -> bool:
        return bool(self.wechat_appid and self.wechat_secret)


_GROUP_HOURS = re.compile(r"^([a-z_]+)=(.+)$")

#: the console's skill groups (bot.domain.routing routes to them; CONSOLE_GROUP_HOURS names them)
SKILL_GROUPS = ("billing", "repair", "complaints", "business", "senior")


def _group_hours(value: str | None) -> Dict[str, str]:
    """``CONSOLE_GROUP_HOURS``: ``business=08:30-17:30;complaints=09:00-18:00`` (Asia/Shanghai, inside
    CONSOLE_HOURS; groups not listed keep CONSOLE_HOURS)."""
    hours: Dict[str, str] = {}
    for part in (value or "").split(";"):
        part = part.strip()
        if not part:
            continue
        m = _GROUP_HOURS.match(part)
        if not m:
            raise ConfigError(f"CONSOLE_GROUP_HOURS: expected group=HH:MM-HH:MM;…, got {part!r}")
        if m.group(1) not in SKILL_GROUPS:
            raise ConfigError(f"CONSOLE_GROUP_HOURS: no skill group {m.group(1)!r} (groups: {', '.join(SKILL_GROUPS)})")
        hours[m.group(1)] = parse_hours(f"CONSOLE_GROUP_HOURS ({m.group(1)})", m.group(2))
    return hours


_AES_KEY = re.compile(r"^[A-Za-z0-9+/]{43}$")
_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")


def parse_aes_key(name: str, value: str) -> str:
    """WeChat's EncodingAESKey: 43 characters of base64 (the Official Account's server settings)."""
    if not _AES_KEY.match(value.strip()):
        raise ConfigError(f"{name}: the EncodingAESKey is 43 letters, digits, '+' or '/' (got {len(value.strip())} "
                          "characters)")
    return value.strip()


def parse_mobile(name: str, value: str) -> str:
    """A mainland mobile number (11 digits from 13…19, optionally +86 and separators) as its 11 digits. The
    error never repeats the value: it is a person's phone."""
    m = _MOBILE.match(re.sub(r"[\s\-()]", "", value))
    if not m:
        raise ConfigError(f"{name}: expected a mobile number (11 digits starting 13-19, +86 allowed)")
    return m.group(1)


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build settings from an environment mapping (``os.environ`` in production).

    Every value is parsed and checked here, so a typo stops the process at start-up instead of
    reaching a customer later. Raises :class:`ConfigError` naming the first bad variable.
    """

    def get(name: str) -> str | None:
        value = env.get(name)
        return value if value not in (None, "") else None

    def parsed(name: str, parse: Callable[[str, str], T], default: T) -> T:
        value = get(name)
        return default if value is None or value.strip() == "" else parse(name, value)

    def number(minimum: float) -> Callable[[str, str], float]:
        return lambda name, value: parse_float(name, value, minimum)

    def integer(minimum: int) -> Callable[[str, str], int]:
        return lambda name, value: parse_int(name, value, minimum)

    defaults = Settings()
    var_dir = Path(get("POWERBOT_VAR_DIR") or defaults.var_dir)
    database_url = parsed("DATABASE_URL", lambda n, v: parse_store_url(n, v, ("sqlite", "postgresql")),
                          f"sqlite:///{var_dir / 'powerbot.db'}")
    return Settings(
        database_url=database_url,
        redis_url=parsed("REDIS_URL", lambda n, v: parse_store_url(n, v, ("redis", "rediss", "unix")), None),
        var_dir=var_dir,
        pii_keys=parsed("PII_KEY", parse_fernet_keys, ()),
        pii_lookup_key=_checked_lookup_key(get("PII_LOOKUP_KEY"), get("PII_KEY")),
        service_rules_file=parsed("SERVICE_RULES_FILE", parse_existing_file, defaults.service_rules_file),
        public_base_url=parsed("PUBLIC_BASE_URL", parse_url, None),
        wechat_token=get("WECHAT_TOKEN"),
        wechat_appid=get("WECHAT_APPID"),
        wechat_secret=get("WECHAT_SECRET"),
        wechat_aes_key=parsed("WECHAT_AES_KEY", parse_aes_key, None),
        wechat_api_base_url=parsed("WECHAT_API_BASE_URL", parse_url, defaults.wechat_api_base_url),
        wechat_reply_budget_s=parsed("WECHAT_REPLY_BUDGET_S", number(0), defaults.wechat_reply_budget_s),
        wechat_signature_max_age_s=parsed("WECHAT_SIGNATURE_MAX_AGE_S", number(0),
                                          defaults.wechat_signature_max_age_s),
        wechat_menu_file=Path(get("WECHAT_MENU_FILE") or defaults.wechat_menu_file),
        wechat_max_concurrent_turns=parsed("WECHAT_MAX_CONCURRENT_TURNS", integer(1),
                                           defaults.wechat_max_concurrent_turns),
        twilio_account_sid=get("TWILIO_ACCOUNT_SID"),
        twilio_auth_token=get("TWILIO_AUTH_TOKEN"),
        twilio_from_number=get("TWILIO_FROM_NUMBER"),
        twilio_api_base_url=parsed("TWILIO_API_BASE_URL", parse_url, defaults.twilio_api_base_url),
        sms_reply_budget_s=parsed("SMS_REPLY_BUDGET_S", number(0), defaults.sms_reply_budget_s),
        tracker_store=parsed("TRACKER_STORE", lambda n, v: parse_choice(n, v, ("memory", "sql")),
                             "sql"),  # sql also on SQLite: survives restarts
        simulator_enabled=parsed("SIMULATOR_ENABLED", parse_bool, False),
        rest_channel_enabled=parsed("REST_CHANNEL_ENABLED", parse_bool, False),
        console_hours=parsed("CONSOLE_HOURS", parse_hours, defaults.console_hours),
        console_group_hours=_group_hours(get("CONSOLE_GROUP_HOURS")),
        console_cookie_secure=parsed("CONSOLE_COOKIE_SECURE", parse_bool, True),
        console_session_idle_minutes=parsed("CONSOLE_SESSION_IDLE_MINUTES", integer(1),
                                            defaults.console_session_idle_minutes),
        console_session_max_hours=parsed("CONSOLE_SESSION_MAX_HOURS", integer(1), defaults.console_session_max_hours),
        console_login_ip_limit=parsed("CONSOLE_LOGIN_IP_LIMIT", integer(1), defaults.console_login_ip_limit),
        console_canned_replies_file=Path(get("CONSOLE_CANNED_REPLIES_FILE") or defaults.console_canned_replies_file),
        log_level=parsed("LOG_LEVEL", lambda n, v: parse_choice(n, v, _LOG_LEVELS), defaults.log_level),
        action_server_token=get("ACTION_SERVER_TOKEN"),
        payment_url_template=_payment_url_template(get("PAYMENT_URL_TEMPLATE")),
        conversation_lock_lifetime_s=parsed("CONVERSATION_LOCK_LIFETIME_S", number(0.1),
                                            defaults.conversation_lock_lifetime_s),
        dedup_pending_ttl_s=parsed("DEDUP_PENDING_TTL_S", number(0.1), defaults.dedup_pending_ttl_s),
        event_broker_url=parsed("EVENT_BROKER_URL", lambda n, v: parse_url(n, v, ("amqp", "amqps")), None),
        event_broker_queue=get("EVENT_BROKER_QUEUE") or defaults.event_broker_queue,
        log_format=parsed("LOG_FORMAT", lambda n, v: parse_choice(n, v, ("text", "json")), defaults.log_format),
        integration_api_tokens=parse_api_tokens(get("INTEGRATION_API_TOKENS")),
        media_dir=Path(get("MEDIA_DIR") or var_dir / "media"),
        escalation_sms_to=parsed("ESCALATION_SMS_TO", parse_mobile, None),
        notice_quiet_hours=parsed("NOTICE_QUIET_HOURS", parse_hours, defaults.notice_quiet_hours),
        wechat_template_ids=_pairs("WECHAT_TEMPLATE_IDS", get("WECHAT_TEMPLATE_IDS")),
        notice_rate_wechat=parsed("NOTICE_RATE_WECHAT", number(0.001), defaults.notice_rate_wechat),
        notice_rate_sms=parsed("NOTICE_RATE_SMS", number(0.001), defaults.notice_rate_sms),
        notice_concurrency=parsed("NOTICE_CONCURRENCY", integer(1), defaults.notice_concurrency),
        notice_claim_timeout_s=parsed("NOTICE_CLAIM_TIMEOUT_S", number(0.1), defaults.notice_claim_timeout_s),
        data_retention_days=parsed("DATA_RETENTION_DAYS", integer(1), defaults.data_retention_days),
        audit_retention_days=parsed("AUDIT_RETENTION_DAYS", _audit_retention, defaults.audit_retention_days),
    )


def _checked_lookup_key(lookup_key: str | None, pii_key: str | None) -> str | None:
    """PII_LOOKUP_KEY, required once PII_KEY holds several keys: derived from the first key, the lookup
    hashes (phones, SMS conversation ids) would change with every rotation and no customer would be found."""
    if lookup_key is not None:
        return _pii_lookup_key("PII_LOOKUP_KEY", lookup_key)
    if pii_key is not None and len([k for k in pii_key.split(",") if k.strip()]) > 1:
        raise ConfigError("PII_LOOKUP_KEY: required when PII_KEY holds more than one key; set it to the key the "
                          "database was created with (the old PII_KEY) so phones and SMS conversations are "
                          "still found (README, \"Rotating the personal-data key\")")
    return None


def _audit_retention(name: str, value: str) -> int:
    """AUDIT_RETENTION_DAYS: at least 183 days — the Cybersecurity Law (网络安全法) art. 21 requires network
    logs be kept no less than six months; a shorter value is refused, not raised silently."""
    days = parse_int(name, value)
    if days < 183:
        raise ConfigError(f"{name}: the audit log must be kept at least 183 days (six months, Cybersecurity Law "
                          f"art. 21), got {value!r}")
    return days


def _payment_url_template(value: str | None) -> str | None:
    """PAYMENT_URL_TEMPLATE: an http(s) URL with ``{account_no}`` in it, or unset."""
    if value is None:
        return None
    url = parse_url("PAYMENT_URL_TEMPLATE", value)
    if "{account_no}" not in url:
        raise ConfigError(f"PAYMENT_URL_TEMPLATE: expected a URL containing {{account_no}}, got {value!r}")
    return url


def _pairs(name: str, value: str | None) -> tuple:
    """``topic:template_id`` pairs separated by commas (topics: outage, bill, ticket)."""
    pairs = []
    for item in (value or "").split(","):
        if not item.strip():
            continue
        topic, sep, template_id = item.strip().partition(":")
        if not sep or topic not in ("outage", "bill", "ticket") or not template_id:
            raise ConfigError(f"{name}: expected topic:template_id pairs (topics outage, bill, ticket), got {item!r}")
        pairs.append((topic, template_id))
    return tuple(pairs)


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from ``os.environ``; raises :class:`ConfigError`."""
    return load_settings(os.environ)
