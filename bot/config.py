"""Settings from the environment — the one place configuration is read.

Every variable is documented in README.md ("Configuration"). Nothing else in the
package reads ``os.environ``; code receives a :class:`Settings` (usually through
:func:`get_settings`). Tests build their own ``Settings`` with :func:`load_settings`
and an explicit mapping, so they never depend on the developer's shell.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, FrozenSet, Mapping, Tuple

#: The repository root (``bot/`` lives directly under it).
ROOT = Path(__file__).resolve().parent.parent

#: Local time of the utility; every date a customer sees is in it.
LOCAL_TZ = "Asia/Shanghai"


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


#: What a back-office API token may be limited to (``system:token:scope+scope``).
API_SCOPES = frozenset({"tickets.read", "tickets.write", "outages.write"})


def parse_api_tokens(value: str | None) -> Dict[str, Tuple[str, FrozenSet[str]]]:
    """``INTEGRATION_API_TOKENS``: comma-separated ``system:token`` or ``system:token:scope+scope``.

    Raises ValueError naming the variable for an empty part, a short token (< 16 characters), an
    unknown scope or a system named twice."""
    tokens: Dict[str, Tuple[str, FrozenSet[str]]] = {}
    for part in (value or "").split(","):
        part = part.strip()
        if not part:
            continue
        pieces = part.split(":")
        if len(pieces) not in (2, 3) or not pieces[0].strip() or not pieces[1].strip():
            raise ValueError("INTEGRATION_API_TOKENS: expected system:token[:scope+scope] pairs separated by commas")
        system, token = pieces[0].strip(), pieces[1].strip()
        if len(token) < 16:
            raise ValueError(f"INTEGRATION_API_TOKENS: the token of {system!r} is shorter than 16 characters")
        scopes = frozenset(x.strip() for x in pieces[2].split("+") if x.strip()) if len(pieces) == 3 else frozenset()
        if scopes - API_SCOPES:
            raise ValueError(f"INTEGRATION_API_TOKENS: unknown scope(s) {sorted(scopes - API_SCOPES)} of {system!r};"
                             f" known: {sorted(API_SCOPES)}")
        if system in tokens:
            raise ValueError(f"INTEGRATION_API_TOKENS: system {system!r} appears twice")
        tokens[system] = (token, scopes)
    return tokens


@dataclass(frozen=True)
class Settings:
    """Effective configuration of one process."""

    database_url: str = f"sqlite:///{ROOT / 'var' / 'powerbot.db'}"
    redis_url: str | None = None
    var_dir: Path = ROOT / "var"
    pii_key: str | None = None
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

    tracker_store: str = "memory"  # memory | sql (Rasa conversation trackers)
    simulator_enabled: bool = False
    rest_channel_enabled: bool = False
    console_hours: str = "08:00-20:00"
    console_cookie_secure: bool = True
    console_session_idle_minutes: int = 30
    console_session_max_hours: int = 12
    console_login_ip_limit: int = 20
    console_canned_replies_file: Path = ROOT / "bot" / "console" / "canned_replies.yml"
    log_level: str = "INFO"
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

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_from_number)

    @property
    def wechat_api_configured(self) -> bool:
        return bool(self.wechat_appid and self.wechat_secret)


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build settings from an environment mapping (``os.environ`` in production)."""

    def get(name: str) -> str | None:
        value = env.get(name)
        return value if value not in (None, "") else None

    defaults = Settings()
    var_dir = Path(get("POWERBOT_VAR_DIR") or defaults.var_dir)
    database_url = get("DATABASE_URL") or f"sqlite:///{var_dir / 'powerbot.db'}"
    return Settings(
        database_url=database_url,
        redis_url=get("REDIS_URL"),
        var_dir=var_dir,
        pii_key=get("PII_KEY"),
        service_rules_file=Path(get("SERVICE_RULES_FILE") or defaults.service_rules_file),
        public_base_url=(get("PUBLIC_BASE_URL") or "").rstrip("/") or None,
        wechat_token=get("WECHAT_TOKEN"),
        wechat_appid=get("WECHAT_APPID"),
        wechat_secret=get("WECHAT_SECRET"),
        wechat_aes_key=get("WECHAT_AES_KEY"),
        wechat_api_base_url=(get("WECHAT_API_BASE_URL") or defaults.wechat_api_base_url).rstrip("/"),
        wechat_reply_budget_s=float(get("WECHAT_REPLY_BUDGET_S") or defaults.wechat_reply_budget_s),
        wechat_signature_max_age_s=float(
            get("WECHAT_SIGNATURE_MAX_AGE_S") or defaults.wechat_signature_max_age_s),
        wechat_menu_file=Path(get("WECHAT_MENU_FILE") or defaults.wechat_menu_file),
        wechat_max_concurrent_turns=int(get("WECHAT_MAX_CONCURRENT_TURNS") or defaults.wechat_max_concurrent_turns),
        twilio_account_sid=get("TWILIO_ACCOUNT_SID"),
        twilio_auth_token=get("TWILIO_AUTH_TOKEN"),
        twilio_from_number=get("TWILIO_FROM_NUMBER"),
        twilio_api_base_url=(get("TWILIO_API_BASE_URL") or defaults.twilio_api_base_url).rstrip("/"),
        sms_reply_budget_s=float(get("SMS_REPLY_BUDGET_S") or defaults.sms_reply_budget_s),
        tracker_store=(get("TRACKER_STORE") or ("memory" if database_url.startswith("sqlite") else "sql")).lower(),
        simulator_enabled=_flag(get("SIMULATOR_ENABLED"), False),
        rest_channel_enabled=_flag(get("REST_CHANNEL_ENABLED"), False),
        console_hours=get("CONSOLE_HOURS") or defaults.console_hours,
        console_cookie_secure=_flag(get("CONSOLE_COOKIE_SECURE"), True),
        console_session_idle_minutes=int(get("CONSOLE_SESSION_IDLE_MINUTES") or defaults.console_session_idle_minutes),
        console_session_max_hours=int(get("CONSOLE_SESSION_MAX_HOURS") or defaults.console_session_max_hours),
        console_login_ip_limit=int(get("CONSOLE_LOGIN_IP_LIMIT") or defaults.console_login_ip_limit),
        console_canned_replies_file=Path(get("CONSOLE_CANNED_REPLIES_FILE") or defaults.console_canned_replies_file),
        log_level=(get("LOG_LEVEL") or defaults.log_level).upper(),
        integration_api_tokens=parse_api_tokens(get("INTEGRATION_API_TOKENS")),
        media_dir=Path(get("MEDIA_DIR") or var_dir / "media"),
        escalation_sms_to=get("ESCALATION_SMS_TO"),
        notice_quiet_hours=_quiet_hours(get("NOTICE_QUIET_HOURS") or defaults.notice_quiet_hours),
        wechat_template_ids=_pairs("WECHAT_TEMPLATE_IDS", get("WECHAT_TEMPLATE_IDS")),
        notice_rate_wechat=_positive("NOTICE_RATE_WECHAT", get("NOTICE_RATE_WECHAT"), defaults.notice_rate_wechat),
        notice_rate_sms=_positive("NOTICE_RATE_SMS", get("NOTICE_RATE_SMS"), defaults.notice_rate_sms),
        notice_concurrency=int(_positive("NOTICE_CONCURRENCY", get("NOTICE_CONCURRENCY"),
                                         defaults.notice_concurrency)),
        notice_claim_timeout_s=_positive("NOTICE_CLAIM_TIMEOUT_S", get("NOTICE_CLAIM_TIMEOUT_S"),
                                         defaults.notice_claim_timeout_s),
    )


def _quiet_hours(value: str) -> str:
    if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d-([01]?\d|2[0-3]):[0-5]\d", value.replace(" ", "")):
        raise ValueError(f"NOTICE_QUIET_HOURS: expected HH:MM-HH:MM, got {value!r}")
    return value.replace(" ", "")


def _positive(name: str, value: str | None, default: float) -> float:
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name}: expected a number, got {value!r}") from None
    if number <= 0:
        raise ValueError(f"{name}: must be greater than 0")
    return number


def _pairs(name: str, value: str | None) -> tuple:
    """``topic:template_id`` pairs separated by commas (topics: outage, bill, ticket)."""
    pairs = []
    for item in (value or "").split(","):
        if not item.strip():
            continue
        topic, sep, template_id = item.strip().partition(":")
        if not sep or topic not in ("outage", "bill", "ticket") or not template_id:
            raise ValueError(f"{name}: expected topic:template_id pairs (topics outage, bill, ticket), got {item!r}")
        pairs.append((topic, template_id))
    return tuple(pairs)


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from ``os.environ``."""
    return load_settings(os.environ)
