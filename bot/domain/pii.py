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

from bot import textnorm
from bot.config import Settings, get_settings

logger = logging.getLogger(__name__)

PHONE_RE = textnorm.PHONE_RE


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
    """Digits of a mainland mobile number typed in any shape (``+86 139-1234-5678``, full-width,
    grouped), without the country code; raises ValueError when it is not one (bot/textnorm.py)."""
    return textnorm.normalize_phone(raw)


def phone_hash(phone: str) -> str:
    """The keyed lookup hash of a phone number (normalised first)."""
    return cipher().lookup_hash("phone:" + normalize_phone(phone))


def mask_phone(phone: str | None) -> str:
    """138****5678, whatever shape the number was typed in; a string that is no phone is all stars."""
    if not phone:
        return ""
    try:
        digits = textnorm.normalize_phone(phone)
    except ValueError:
        digits = re.sub(r"\D", "", textnorm.to_halfwidth(phone))
        if len(digits) < 11:
            return "*" * len(digits)
        digits = digits[-11:]
    return f"{digits[:3]}****{digits[-4:]}"


def mask_name(name: str | None) -> str:
    """张* / 欧** — the family name stays, the rest is starred."""
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def redact_text(text: str) -> str:
    """Mask every phone number and resident ID number inside free text, in any shape the customer
    typed it (grouped, full-width, +86, Chinese digits — bot/textnorm.py finds them)."""
    return textnorm.mask_numbers(text)


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
