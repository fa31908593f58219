"""Canned replies (坐席常用语): kept in the database, managed by supervisors in the console, seeded once
from the call center's file (``CONSOLE_CANNED_REPLIES_FILE``) before anyone managed them.

A reply's text may hold variables, filled in on the server for one conversation when an agent
inserts it (the customer's data never travels to the page unmasked):

- ``{称呼}`` — how the agent addresses the customer: the family name of the bound account's masked
  name plus ``先生/女士`` (e.g. ``张先生/女士``);
- ``{工单号}`` — the conversation's customer's latest ticket;
- ``{户号尾号}`` — the last 4 digits of the bound account's 户号.

A variable that cannot be filled (no bound account, no ticket) stays as written and is reported, so
the agent sees it and completes the text by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import messages
from bot.clock import utcnow
from bot.domain import audit, bindings, tickets
from bot.domain.models import AuditEntry, CannedReply, Contact
from bot.domain.pii import mask_name

TITLE_MAX = 40
TEXT_MAX = 500  # the longest reply an agent may send
VARIABLES = ("称呼", "工单号", "户号尾号")
MANAGED = ("canned_reply.add", "canned_reply.edit", "canned_reply.delete", "canned_reply.seed")


class CannedReplyError(ValueError):
    """A refused change; ``reason``: ``empty``, ``too_long``, ``duplicate`` or ``not_found``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Filled:
    """A reply's text for one conversation and the variables left unfilled (their names)."""

    text: str
    missing: List[str]


def all_replies(s: Session) -> List[CannedReply]:
    """Every canned reply, in the order they were added."""
    return list(s.scalars(select(CannedReply).order_by(CannedReply.id)))


def seed(s: Session, entries: Sequence[Dict[str, str]], now: datetime | None = None) -> int:
    """Add the file's ``[{title, text}]`` once: only while no canned reply was ever added, edited,
    deleted or seeded (a supervisor's deletions are not undone at the next start). Returns how many
    were added; safe when two processes seed at once (titles are unique)."""
    if s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action.in_(MANAGED))):
        return 0
    added = 0
    for entry in entries:
        try:
            with s.begin_nested():
                s.add(CannedReply(title=entry["title"][:TITLE_MAX], text=entry["text"][:TEXT_MAX],
                                  updated_by="system", created_at=now or utcnow(), updated_at=now or utcnow()))
            added += 1
        except IntegrityError:
            continue
    audit.record(s, "system", "canned_reply.seed", "canned_reply", "", now=now, rows=added)
    return added


def _clean(title: object, text: object) -> tuple:
    title_s, text_s = str(title or "").strip(), str(text or "").strip()
    if not title_s or not text_s:
        raise CannedReplyError("empty")
    if len(title_s) > TITLE_MAX or len(text_s) > TEXT_MAX:
        raise CannedReplyError("too_long")
    return title_s, text_s


def _unique(s: Session, title: str, reply_id: int | None = None) -> None:
    q = select(CannedReply.id).where(CannedReply.title == title)
    if reply_id is not None:
        q = q.where(CannedReply.id != reply_id)
    if s.scalar(q) is not None:
        raise CannedReplyError("duplicate")


def add(s: Session, actor: str, title: object, text: object, now: datetime | None = None) -> CannedReply:
    """A new canned reply (audited ``canned_reply.add``); :class:`CannedReplyError` on empty or too
    long (title ≤ 40, text ≤ 500 characters) input or a title in use."""
    title_s, text_s = _clean(title, text)
    _unique(s, title_s)
    reply = CannedReply(title=title_s, text=text_s, updated_by=actor)
    s.add(reply)
    s.flush()
    audit.record(s, actor, "canned_reply.add", "canned_reply", reply.id, now=now, title=title_s)
    return reply


def edit(s: Session, actor: str, reply_id: int, title: object, text: object,
         now: datetime | None = None) -> CannedReply:
    """Change a canned reply's title and text (audited ``canned_reply.edit``)."""
    reply = s.get(CannedReply, reply_id)
    if reply is None:
        raise CannedReplyError("not_found")
    title_s, text_s = _clean(title, text)
    _unique(s, title_s, reply.id)
    reply.title, reply.text, reply.updated_by = title_s, text_s, actor
    s.flush()
    audit.record(s, actor, "canned_reply.edit", "canned_reply", reply.id, now=now, title=title_s)
    return reply


def delete(s: Session, actor: str, reply_id: int, now: datetime | None = None) -> None:
    """Remove a canned reply (audited ``canned_reply.delete``)."""
    reply = s.get(CannedReply, reply_id)
    if reply is None:
        raise CannedReplyError("not_found")
    title = reply.title
    s.delete(reply)
    s.flush()
    audit.record(s, actor, "canned_reply.delete", "canned_reply", reply_id, now=now, title=title)


def salutation(masked_name: str) -> str:
    """``张*`` → ``张先生/女士`` (the family name only; the masked rest is never shown)."""
    return messages.CANNED_SALUTATION.format(family=masked_name[:1]) if masked_name else ""


def fill(s: Session, text: str, contact: Contact | None) -> Filled:
    """``text`` with the variables filled for ``contact`` (the conversation's customer): from their
    first bound account (name, 户号) and their latest ticket. Unfillable variables stay as written."""
    bound = bindings.bound_accounts(s, contact) if contact is not None else []
    latest = tickets.for_contact(s, contact, limit=1) if contact is not None else []
    values = {
        "称呼": salutation(mask_name(bound[0].name)) if bound else "",
        "工单号": latest[0].ticket_no if latest else "",
        "户号尾号": bound[0].account_no[-4:] if bound else "",
    }
    missing = []
    for name in VARIABLES:
        placeholder = "{" + name + "}"
        if placeholder not in text:
            continue
        if values[name]:
            text = text.replace(placeholder, values[name])
        else:
            missing.append(name)
    return Filled(text, missing)
