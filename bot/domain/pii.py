"""Personal data: encryption at rest, keyed lookup hashes, masking for display and logs.

Names and phone numbers are stored Fernet-encrypted (AES-128-CBC + HMAC) under ``PII_KEY`` — one key or
several, newest first: new data is encrypted with the first, old data decrypts under any, and
``bot rotate-pii-key`` (:mod:`bot.domain.pii_rotation`) re-encrypts the old under the first. A phone is found
by an HMAC-SHA256 of its normalised digits under the lookup key (``PII_LOOKUP_KEY``, else derived from the
first ``PII_KEY``), which never rotates, so the database never holds a phone in clear and still answers
"which accounts use this number".
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
from typing import Any, List, Sequence, Tuple

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.types import Text, TypeDecorator

from bot import textnorm
from bot.config import ConfigError, Settings, get_settings, parse_fernet_keys

logger = logging.getLogger(__name__)

PHONE_RE = textnorm.PHONE_RE


class PiiKeyError(RuntimeError):
    """PII_KEY is missing or malformed where it must be given, or a token decrypts under none of its keys."""


def _demo_keys(settings: Settings) -> Tuple[str, ...]:
    """The embedded demo's keys: generated once into ``var/pii.key``, next to the SQLite file (the file may
    hold several comma-separated keys, newest first, like PII_KEY)."""
    path: Path = settings.var_dir / "pii.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(Fernet.generate_key())
        logger.warning("PII_KEY not set: generated a demo key in %s", path)
    try:
        return parse_fernet_keys(str(path), path.read_text(encoding="ascii"))
    except (ConfigError, UnicodeDecodeError) as exc:
        raise PiiKeyError(str(exc)) from exc


def _load_keys(settings: Settings) -> Tuple[List[bytes], bytes | None]:
    """(encryption keys newest first, the lookup-hash key or None = derived from the first key)."""
    if settings.pii_keys:
        keys: Sequence[str] = settings.pii_keys
    elif settings.is_sqlite:
        keys = _demo_keys(settings)
        if len(keys) > 1 and not settings.pii_lookup_key:
            raise PiiKeyError("PII_LOOKUP_KEY must be set when var/pii.key holds more than one key (README, "
                              "\"Rotating the personal-data key\")")
    else:
        raise PiiKeyError("PII_KEY must be set when DATABASE_URL is not SQLite (see README, Configuration)")
    lookup = settings.pii_lookup_key.encode("ascii") if settings.pii_lookup_key else None
    return [k.encode("ascii") for k in keys], lookup


def key_fingerprint(key: bytes) -> str:
    """A short public name of a key (8 hex digits of its SHA-256), for logs and the audit log: tells keys
    apart, reveals nothing of them."""
    return hashlib.sha256(key.strip()).hexdigest()[:8]


class Cipher:
    """Encrypts/decrypts personal data under PII_KEY's keys and computes lookup hashes under a stable key.

    ``keys``: Fernet keys newest first (one key is accepted alone too). Encryption uses the first;
    decryption tries each (``MultiFernet``). ``lookup_key``: the key of the lookup hashes (PII_LOOKUP_KEY);
    None derives it from the first key — exactly what every database written before PII_LOOKUP_KEY existed
    used, so its phone hashes and SMS conversation ids keep matching."""

    def __init__(self, keys: Sequence[bytes] | bytes, lookup_key: bytes | None = None) -> None:
        key_list = [keys] if isinstance(keys, bytes) else list(keys)
        if not key_list:
            raise PiiKeyError("no PII key given")
        self._keys = key_list
        self._primary = Fernet(key_list[0])
        self._fernet = MultiFernet([Fernet(k) for k in key_list])
        seed = base64.urlsafe_b64decode(lookup_key or key_list[0])
        self._hash_key = hmac.new(seed, b"powerbot/lookup/v1", hashlib.sha256).digest()

    @property
    def primary_fingerprint(self) -> str:
        """:func:`key_fingerprint` of the key new data is encrypted with."""
        return key_fingerprint(self._keys[0])

    @property
    def key_count(self) -> int:
        return len(self._keys)

    def encrypt(self, value: str) -> str:
        """A Fernet token (ASCII) of ``value`` under the newest key."""
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The text of a token made under any of the keys; raises :class:`PiiKeyError` otherwise."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise PiiKeyError("cannot decrypt personal data: wrong PII_KEY for this database") from exc

    def is_current(self, token: str) -> bool:
        """Was ``token`` made under the newest key (nothing to rotate)?"""
        try:
            self._primary.decrypt(token.encode("ascii"))
        except InvalidToken:
            return False
        return True

    def rotate(self, token: str) -> str:
        """``token`` re-encrypted under the newest key, the same text inside (``MultiFernet.rotate``; the
        token's timestamp is kept). Raises :class:`PiiKeyError` when no key decrypts it."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken as exc:
            raise PiiKeyError("cannot rotate personal data: no key of PII_KEY decrypts it") from exc

    def lookup_hash(self, value: str) -> str:
        """HMAC-SHA256 (hex) of ``value`` under the lookup key: the same for a value whatever PII_KEY holds."""
        return hmac.new(self._hash_key, value.encode("utf-8"), hashlib.sha256).hexdigest()


@functools.lru_cache(maxsize=1)
def cipher() -> Cipher:
    """The process-wide cipher for the configured key."""
    keys, lookup_key = _load_keys(get_settings())
    return Cipher(keys, lookup_key)


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
