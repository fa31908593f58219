"""Photos customers and crews send, kept on disk under ``MEDIA_DIR`` (WeChat media expire after three
days, so they are downloaded when they arrive).

A photo is stored under a name derived from the reference the dialogue sees (the WeChat ``PicUrl`` or
``MediaId``), so the channel that downloads it and the action that attaches it to a ticket agree on the
file without talking to each other; the console serves it only if it is there and only as an image.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.domain import audit
from bot.domain.models import Ticket, TicketAttachment

MAX_BYTES = 10 * 1024 * 1024
#: Image types we keep and serve, recognised by their first bytes (never by what the sender claims).
_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


class MediaError(Exception):
    """Not an image we keep (unknown type, empty or larger than MAX_BYTES)."""


def image_type(data: bytes) -> str | None:
    """The content type of an image we accept, from its first bytes; None otherwise."""
    for magic, content_type in _MAGIC:
        if data.startswith(magic):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def file_key(ref: str) -> str:
    """The stored file name of the photo a dialogue knows as ``ref``."""
    return hashlib.sha256(ref.encode("utf-8")).hexdigest()[:40]


def path_of(media_dir: Path, stored_file: str) -> Path | None:
    """The file of a stored photo if it exists (names are our own hex keys; anything else is refused)."""
    if not stored_file or not all(c in "0123456789abcdef" for c in stored_file):
        return None
    path = Path(media_dir) / stored_file[:2] / stored_file
    return path if path.is_file() else None


def save(media_dir: Path, ref: str, data: bytes) -> str:
    """Write the photo known as ``ref`` (atomically) and return its stored name; MediaError if it is not
    an image we keep."""
    if not data or len(data) > MAX_BYTES or image_type(data) is None:
        raise MediaError(ref[:40])
    key = file_key(ref)
    folder = Path(media_dir) / key[:2]
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".part-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, folder / key)
    return key


def store_photo(s: Session, ticket: Ticket, data: bytes, content_type: str, actor: str, media_dir: Path,
                now: datetime | None = None) -> TicketAttachment:
    """A photo uploaded with a ticket (the inspection page): saved and attached; audited."""
    now = now or utcnow()
    ref = f"upload:{ticket.ticket_no}:{hashlib.sha256(data).hexdigest()[:16]}"
    key = save(media_dir, ref, data)
    attachment = TicketAttachment(ticket_id=ticket.id, kind="image", ref=ref, stored_file=key,
                                  content_type=image_type(data), created_at=now)
    s.add(attachment)
    s.flush()
    audit.record(s, actor, "ticket.attach", "ticket", ticket.ticket_no, now=now, kind="image")
    return attachment
