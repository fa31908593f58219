"""What supervisors watch and check: the live wall of open hand-overs against the service targets, and
quality sampling of closed ones against the checklist.

Targets are the service rules' (``supervision:`` in service_rules.yml); the checklist is kept in the
database, managed by supervisors in the console (:func:`add_item`, :func:`rename_item`,
:func:`retire_item`) and seeded once from the rules' ``quality_checklist`` (:func:`seed_checklist`). A
check keeps, for each item, the label it was scored under, so renaming or retiring an item later
changes no past check. The first
response of a hand-over is the owner's first message to the customer after taking it over (a transcript
entry ``agent:<username>`` at or after ``taken_at``); a forced takeover or a transfer to an agent starts
the clock again, since the new owner must answer.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.domain import audit, handoffs
from bot.domain.models import Handoff, QualityChecklistItem, QualityScore, StaffUser, TranscriptEntry
from bot.domain.rules import Supervision


class QualityError(Exception):
    """A quality check refused; ``reason`` is stable (``not_found``, ``not_closed``, ``no_agent``,
    ``scored``, ``bad_items``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


LABEL_MAX = 60
CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class ChecklistError(ValueError):
    """A refused checklist change; ``reason``: ``empty``, ``too_long``, ``duplicate``, ``bad_code``,
    ``not_found`` or ``last_item`` (the checklist cannot be left empty)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def checklist_items(s: Session, include_retired: bool = False) -> List[QualityChecklistItem]:
    """The checklist in the order supervisors see it (position, then when added); retired items only
    when asked for."""
    q = select(QualityChecklistItem)
    if not include_retired:
        q = q.where(QualityChecklistItem.retired_at.is_(None))
    return list(s.scalars(q.order_by(QualityChecklistItem.position, QualityChecklistItem.id)))


def seed_checklist(s: Session, entries: Mapping[str, str], now: datetime | None = None) -> int:
    """Add the rules' ``{code: label}`` once, while the checklist has no item at all (items are retired,
    never deleted, so supervisors' changes are not undone at the next start). Returns how many were
    added; safe when two processes seed at once (codes are unique). Audited (``quality.checklist_seed``)."""
    if s.scalar(select(QualityChecklistItem.id).limit(1)) is not None:
        return 0
    added = 0
    for position, (code, label) in enumerate(entries.items()):
        try:
            with s.begin_nested():
                s.add(QualityChecklistItem(code=str(code)[:40], label=str(label)[:LABEL_MAX], position=position,
                                           updated_by="system", created_at=now or utcnow(),
                                           updated_at=now or utcnow()))
            added += 1
        except IntegrityError:
            continue
    if added:
        audit.record(s, "system", "quality.checklist_seed", "quality", "", now=now, rows=added)
    return added


def _label(s: Session, label: object, item_id: int | None = None) -> str:
    text = " ".join(str(label or "").split())
    if not text:
        raise ChecklistError("empty")
    if len(text) > LABEL_MAX:
        raise ChecklistError("too_long")
    same = select(QualityChecklistItem.id).where(QualityChecklistItem.label == text,
                                                 QualityChecklistItem.retired_at.is_(None))
    if item_id is not None:
        same = same.where(QualityChecklistItem.id != item_id)
    if s.scalar(same) is not None:
        raise ChecklistError("duplicate")
    return text


def add_item(s: Session, actor: str, label: object, code: object = None,
             now: datetime | None = None) -> QualityChecklistItem:
    """A new checklist item at the end (audited ``quality.item_add``). ``code`` (lower-case letters,
    digits, ``_``; up to 40) is generated when not given. Raises :class:`ChecklistError` (``empty``,
    ``too_long`` over 60 characters, ``duplicate`` label among the items in use or code ever used,
    ``bad_code``)."""
    text = _label(s, label)
    if code in (None, ""):
        number = int(s.scalar(select(func.count()).select_from(QualityChecklistItem)) or 0) + 1
        while s.scalar(select(QualityChecklistItem.id).where(QualityChecklistItem.code == f"item_{number}")):
            number += 1
        code_s = f"item_{number}"
    else:
        code_s = str(code)
        if not CODE_RE.match(code_s):
            raise ChecklistError("bad_code")
        if s.scalar(select(QualityChecklistItem.id).where(QualityChecklistItem.code == code_s)) is not None:
            raise ChecklistError("duplicate")
    last = s.scalar(select(func.max(QualityChecklistItem.position)))
    item = QualityChecklistItem(code=code_s, label=text, position=(last if last is not None else -1) + 1,
                                updated_by=actor, created_at=now or utcnow(), updated_at=now or utcnow())
    s.add(item)
    s.flush()
    audit.record(s, actor, "quality.item_add", "quality", code_s, now=now, label=text)
    return item


def _item(s: Session, item_id: int) -> QualityChecklistItem:
    item = s.get(QualityChecklistItem, item_id)
    if item is None:
        raise ChecklistError("not_found")
    return item


def rename_item(s: Session, actor: str, item_id: int, label: object,
                now: datetime | None = None) -> QualityChecklistItem:
    """Change what an item says (audited ``quality.item_rename`` with the old and new label); checks
    already made keep the label they were scored under. Raises :class:`ChecklistError`."""
    item = _item(s, item_id)
    text = _label(s, label, item.id)
    before = item.label
    if text != before:
        item.label, item.updated_by, item.updated_at = text, actor, now or utcnow()
        s.flush()
        audit.record(s, actor, "quality.item_rename", "quality", item.code, now=now, was=before, label=text)
    return item


def retire_item(s: Session, actor: str, item_id: int, now: datetime | None = None) -> QualityChecklistItem:
    """Stop scoring against an item (audited ``quality.item_retire``); past checks keep it. Retiring a
    retired item changes nothing. Raises :class:`ChecklistError` ``not_found`` or ``last_item``."""
    item = _item(s, item_id)
    if item.retired_at is not None:
        return item
    if len(checklist_items(s)) <= 1:
        raise ChecklistError("last_item")
    item.retired_at, item.updated_by, item.updated_at = now or utcnow(), actor, now or utcnow()
    s.flush()
    audit.record(s, actor, "quality.item_retire", "quality", item.code, now=now, label=item.label)
    return item


@dataclass(frozen=True)
class WallLine:
    """One open hand-over on the wall. Seconds are whole; ``first_response_s`` is None while the owner
    has not answered (``responding_s`` then counts since the take-over)."""

    handoff: Handoff
    wait_s: int
    wait_over: bool
    first_response_s: int | None
    responding_s: int | None
    first_response_over: bool


def first_response_at(s: Session, handoff: Handoff) -> datetime | None:
    """When the owner first wrote to the customer after taking ``handoff`` over (naive UTC), or None."""
    if handoff.taken_at is None or handoff.owner is None:
        return None
    return s.scalar(
        select(func.min(TranscriptEntry.created_at)).where(
            TranscriptEntry.sender_id == handoff.sender_id, TranscriptEntry.direction == "out",
            TranscriptEntry.author == f"agent:{handoff.owner.username}",
            TranscriptEntry.created_at >= handoff.taken_at,
            *([TranscriptEntry.created_at <= handoff.closed_at] if handoff.closed_at else []))
    )


def wall(s: Session, targets: Supervision, now: datetime | None = None) -> List[WallLine]:
    """Every waiting conversation (in queue order) and every active one (longest-owned first), with the
    customer's wait for an agent (request → take, or → now while waiting) and the owner's first-response
    time (take → first message, or → now while unanswered), each flagged when over its target."""
    now = now or utcnow()
    lines = []
    for h in handoffs.queue(s) + handoffs.active(s):
        wait = int(((h.taken_at or now) - h.requested_at).total_seconds())
        first = responding = None
        if h.status == "active" and h.taken_at is not None:
            answered = first_response_at(s, h)
            if answered is not None:
                first = int((answered - h.taken_at).total_seconds())
            else:
                responding = int((now - h.taken_at).total_seconds())
        elapsed = first if first is not None else responding
        lines.append(WallLine(h, wait, wait > targets.wait_target_seconds, first, responding,
                              elapsed is not None and elapsed > targets.first_response_target_seconds))
    return lines


def sample(s: Session, since: datetime, until: datetime, size: int, agent: StaffUser | None = None,
           rng: random.Random | None = None) -> List[Handoff]:
    """A random draw of up to ``size`` hand-overs closed between ``since`` and ``until`` (naive UTC) by
    an agent (``agent``'s only, when given) and not yet checked, oldest first."""
    scored = select(QualityScore.handoff_id)
    q = select(Handoff).where(Handoff.status == "closed", Handoff.owner_id.is_not(None),
                              Handoff.closed_at.between(since, until), Handoff.id.not_in(scored))
    if agent is not None:
        q = q.where(Handoff.owner_id == agent.id)
    candidates = list(s.scalars(q.order_by(Handoff.id)))
    drawn = (rng or random.SystemRandom()).sample(candidates, min(size, len(candidates)))
    return sorted(drawn, key=lambda h: (h.closed_at, h.id))


def score(s: Session, handoff_id: int, scorer: StaffUser, results: Mapping[str, Mapping[str, object]],
          checklist: Mapping[str, str], now: datetime | None = None) -> QualityScore:
    """Record ``scorer``'s check of a closed hand-over against ``checklist`` (``{code: label}``, the
    items in use): ``results`` gives, for every item, ``{"passed": bool, "comment": str}`` (comment up
    to 500 characters); the check keeps each item's label as it stands now. The score is the share of
    items passed in percent, rounded. Audited (``quality.score``). Raises :class:`QualityError`."""
    handoff = s.get(Handoff, handoff_id)
    if handoff is None:
        raise QualityError("not_found")
    if handoff.status != "closed":
        raise QualityError("not_closed")
    if handoff.owner_id is None:
        raise QualityError("no_agent")
    if not checklist or set(results) != set(checklist):
        raise QualityError("bad_items")
    items: Dict[str, Dict[str, object]] = {}
    for code in checklist:
        passed = results[code].get("passed")
        if not isinstance(passed, bool):
            raise QualityError("bad_items")
        items[code] = {"passed": passed, "comment": str(results[code].get("comment") or "").strip()[:500],
                       "label": checklist[code]}
    percent = round(100 * sum(1 for i in items.values() if i["passed"]) / len(items))
    check = QualityScore(handoff_id=handoff.id, staff_id=handoff.owner_id, scorer=f"staff:{scorer.username}",
                         items=items, score=percent, created_at=now or utcnow())
    try:
        with s.begin_nested():
            s.add(check)
    except IntegrityError:
        raise QualityError("scored") from None
    audit.record(s, f"staff:{scorer.username}", "quality.score", "conversation", handoff.sender_id, now=now,
                 handoff=handoff.id, score=percent)
    return check


def scores_of(s: Session, handoff_ids: Sequence[int]) -> Dict[int, QualityScore]:
    """The quality checks of these hand-overs, by hand-over id."""
    if not handoff_ids:
        return {}
    return {q.handoff_id: q for q in s.scalars(select(QualityScore).where(QualityScore.handoff_id.in_(handoff_ids)))}
