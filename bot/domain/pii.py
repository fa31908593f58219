"""Personal data: encryption at rest, keyed lookup hashes, masking for display and logs.

Names and phone numbers are stored Fernet-encrypted (AES-128-CBC + HMAC) under ``PII_KEY``; a phone
is found by an HMAC-SHA256 of its normalised digits, keyed by a key derived from ``PII_KEY``, so the
database never holds a phone in clear and still answers "which accounts use this number".
Everything that shows personal data to a person goes through :func:`mask_phone` / :func:`mask_name`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import os
import re
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.types import Text, TypeDecorator

from bot.config import Settings, get_settings

logger = logging.getLogger(__name__)

PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
# phones and 18-character resident ID numbers inside free text (log lines, transcripts)
_PHONE_IN_TEXT = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_ID_IN_TEXT = re.compile(r"(?<![\dA-Za-z])(\d{6})((?:19|20)\d{2}(?:0[1-9]|1[0-2])\d{2})(\d{3}[\dXx])(?![\dA-Za-z])")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _is_id_number(number: str) -> bool:
    """A resident ID number's check digit (GB 11643) — tells it from other 18-digit numbers (WeChat MsgIds)."""
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == number[17].upper()


class PiiKeyError(RuntimeError):
    """PII_KEY is missing or malformed where it must be given."""


def _load_key(settings: Settings) -> bytes:
    if settings.pii_key:
        key = settings.pii_key.strip().encode()
    elif settings.is_sqlite:
        # The embedded demo: generate a key once, next to the SQLite file.
        path: Path = settings.var_dir / "pii.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(Fernet.generate_key())
            logger.warning("PII_KEY not set: generated a demo key in %s", path)
        key = path.read_bytes().strip()
    else:
        raise PiiKeyError("PII_KEY must be set when DATABASE_URL is not SQLite (see README, Configuration)")
    try:
        Fernet(key)
    except (ValueError, TypeError) as exc:
        raise PiiKeyError("PII_KEY must be 32 url-safe base64-encoded bytes (Fernet.generate_key())") from exc
    return key


class Cipher:
    """Encrypts/decrypts personal data and computes lookup hashes under one key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)
        self._hash_key = hmac.new(base64.urlsafe_b64decode(key), b"powerbot/lookup/v1", hashlib.sha256).digest()

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise PiiKeyError("cannot decrypt personal data: wrong PII_KEY for this database") from exc

    def lookup_hash(self, value: str) -> str:
        return hmac.new(self._hash_key, value.encode("utf-8"), hashlib.sha256).hexdigest()


@functools.lru_cache(maxsize=1)
def cipher() -> Cipher:
    """The process-wide cipher for the configured key."""
    return Cipher(_load_key(get_settings()))


def normalize_phone(raw: str) -> str:
    """Digits of a mainland mobile number without +86; raises ValueError when it is not one."""
    digits = re.sub(r"[\s\-()]", "", raw or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if not PHONE_RE.match(digits):
        raise ValueError("not a mainland mobile number (11 digits starting with 1)")
    return digits


def phone_hash(phone: str) -> str:
    """The keyed lookup hash of a phone number (normalised first)."""
    return cipher().lookup_hash("phone:" + normalize_phone(phone))


def mask_phone(phone: str | None) -> str:
    """138****5678."""
    if not phone:
        return ""
    digits = re.sub(r"\D", "", phone)
    if len(digits) >= 11:
        digits = digits[-11:]
        return f"{digits[:3]}****{digits[-4:]}"
    return "*" * len(digits)


def mask_name(name: str | None) -> str:
    """张* / 欧** — the family name stays, the rest is starred."""
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def redact_text(text: str) -> str:
    """Mask every phone number and resident ID number inside free text."""
    text = _PHONE_IN_TEXT.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _ID_IN_TEXT.sub(
        lambda m: f"{m.group(1)}********{m.group(3)}" if _is_id_number(m.group(0)) else m.group(0), text
    )


class EncryptedText(TypeDecorator):
    """A text column stored encrypted with the process cipher."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return cipher().encrypt(str(value))

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return cipher().decrypt(value)


_installed = False


def install_log_redaction() -> None:
    """Mask phones and ID numbers in every log record of this process (idempotent).

    A record factory, not a handler filter, so records of every library and every handler added
    later (Rasa configures its own) are covered.
    """
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call must not break logging
            return record
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
