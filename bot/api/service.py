"""What the integration API does, without HTTP: request validation against the OpenAPI document (the
single source of the contract, ``openapi.json`` beside this file), time parsing, and one unit of work
per call that is audited with the calling system's name — also when it is refused.

Errors are :class:`ApiError` with the HTTP status and the ``error`` code of the contract
(shared spec "Back-office integration API"): 401 unauthorized, 403 forbidden, 404 not_found,
409 conflict, 422 invalid.
"""

from __future__ import annotations

import functools
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import jsonschema
from sqlalchemy.orm import Session

from bot.clock import local_to_utc, to_local, utcnow
from bot.db import session_scope
from bot.domain import audit, dispatch, integration, outages
from bot.domain.models import Account, Contact, Ticket
from bot.domain.pii import mask_phone

OPENAPI_FILE = Path(__file__).resolve().parent / "openapi.json"
_TIME_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)(Z|[+-]\d{2}:?\d{2})?$")


class ApiError(Exception):
    """A refused call: HTTP ``status``, contract ``code`` and a ``detail`` for the caller."""

    def __init__(self, status: int, code: str, detail: Any = None) -> None:
        super().__init__(code)
        self.status, self.code, self.detail = status, code, detail

    def body(self) -> Dict[str, Any]:
        return {"error": self.code, "detail": self.detail}


@functools.lru_cache(maxsize=1)
def document() -> Dict[str, Any]:
    """The OpenAPI document (read once)."""
    return json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))


@functools.cache
def _validator(schema_name: str) -> jsonschema.Draft7Validator:
    doc = document()
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": doc["components"]}
    return jsonschema.Draft7Validator(schema)


def validate(schema_name: str, body: Any) -> Dict[str, Any]:
    """``body`` if it matches the document's schema ``schema_name``; else ApiError 422 listing the problems."""
    problems = sorted(_validator(schema_name).iter_errors(body), key=lambda e: list(e.absolute_path))
    if problems:
        raise ApiError(422, "invalid", [
            {"field": "/".join(str(p) for p in e.absolute_path), "problem": e.message[:200]} for e in problems[:10]])
    return body


def decode(raw: bytes | None, schema_name: str, max_bytes: int = 64 * 1024) -> Dict[str, Any]:
    """A request body: UTF-8 JSON of at most ``max_bytes`` matching the document's ``schema_name``."""
    raw = raw or b""
    if len(raw) > max_bytes:
        raise ApiError(422, "invalid", f"body larger than {max_bytes} bytes")
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_not_json)
    except (UnicodeDecodeError, ValueError):
        raise ApiError(422, "invalid", "body is not JSON") from None
    return validate(schema_name, body)


def _not_json(constant: str) -> Any:
    """Python's json module reads ``NaN``, ``Infinity`` and ``-Infinity``, which JSON (RFC 8259) has not."""
    raise ValueError(f"{constant} is not JSON")


def parse_time(value: str, field: str) -> datetime:
    """A contract time (local Asia/Shanghai without offset, or with one) as naive UTC; ApiError 422 otherwise."""
    m = _TIME_RE.match(value or "")
    try:
        if not m:
            raise ValueError(value)
        offset = m.group(3) or ""
        if offset == "Z":
            offset = "+00:00"
        elif offset and ":" not in offset:
            offset = f"{offset[:3]}:{offset[3:]}"
        return local_to_utc(datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}{offset}"))
    except (ValueError, OverflowError):
        raise ApiError(422, "invalid", [{"field": field, "problem": "not a valid ISO 8601 time"}]) from None


def _iso(dt: datetime | None) -> str | None:
    return to_local(dt).isoformat(timespec="seconds") if dt else None


# ----------------------------------------------------------------------------------- one unit of work


def call(system: str, action: str, target: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Run ``fn(session, *args)`` as one unit of work audited as ``api.<action>`` by ``system:<name>``;
    a refusal is rolled back and audited on its own (outcome ``denied``)."""
    actor = f"system:{system}"
    target = target.replace("\x00", "")  # PostgreSQL text cannot hold NUL; a path may
    try:
        with session_scope() as s:
            result = fn(s, *args)
            audit.record(s, actor, f"api.{action}", "api", target[:64])
            return result
    except ApiError as exc:
        with session_scope() as s:
            audit.record(s, actor, f"api.{action}", "api", target[:64], outcome="denied", status=exc.status,
                         code=exc.code)
        raise


def record_unauthorized(path: str, why: str) -> None:
    """A call without a usable token (the caller's system is unknown)."""
    with session_scope() as s:
        audit.record(s, "system:unknown", "api.unauthorized", "api", path.replace("\x00", "")[:64],
                     outcome="denied", why=why)


# --------------------------------------------------------------------------------------------- tickets


_TICKET_NO_RE = re.compile(r"[A-Za-z0-9]{1,20}")
_OUTAGE_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,40}")


def _known_shape(value: str, shape: re.Pattern, what: str) -> None:
    """A path id that cannot name a record (wrong characters or length) is simply not found."""
    if not shape.fullmatch(value or ""):
        raise ApiError(404, "not_found", {what: (value or "")[:40].replace("\x00", "")})


def ticket_event(s: Session, system: str, ticket_no: str, raw: bytes) -> Dict[str, Any]:
    """POST /api/v1/tickets/{ticket_no}/events."""
    _known_shape(ticket_no, _TICKET_NO_RE, "ticket_no")
    body = decode(raw, "TicketEvent")
    eta = parse_time(body["eta"], "eta") if body.get("eta") else None
    try:
        return integration.ticket_event(s, system, ticket_no, body, eta=eta).as_dict()
    except LookupError:
        raise ApiError(404, "not_found", {"ticket_no": ticket_no[:20]}) from None
    except integration.EventConflict:
        raise ApiError(409, "conflict", {"event_id": body["event_id"], "why": "event_id used with another body"}) from None
    except dispatch.DispatchError as exc:
        raise ApiError(409, "conflict", {"why": exc.reason, **{k: str(v) for k, v in exc.info.items()}}) from None


def _phone_masked(s: Session, t: Ticket) -> str | None:
    if t.callback_phone:
        return mask_phone(t.callback_phone)
    if t.contact_id:
        contact = s.get(Contact, t.contact_id)
        if contact is not None and contact.channel == "sms":
            return mask_phone(contact.external_id)
    if t.account_id:
        account = s.get(Account, t.account_id)
        if account is not None and account.phone:
            return mask_phone(account.phone)
    return None


def ticket_json(s: Session, t: Ticket) -> Dict[str, Any]:
    """How outside systems see a ticket (personal data masked)."""
    return {
        "ticket_no": t.ticket_no, "type": t.type, "subtype": t.subtype, "status": t.status, "priority": t.priority,
        "township": t.township, "village": t.village, "address": t.address, "description": t.description or "",
        "account_no": t.account.account_no if t.account else None,
        "key_customer": bool(t.account and t.account.key_customer),
        "sla_deadline": _iso(t.sla_deadline), "created_at": _iso(t.created_at), "updated_at": _iso(t.updated_at),
        "contact_phone_masked": _phone_masked(s, t),
        "crew": t.crew.name if t.crew else None, "eta": _iso(t.eta),
        "merged_into": t.merged_into.ticket_no if t.merged_into else None, "urge_count": t.urge_count or 0,
    }


LIST_PARAMS = ("status", "type", "township", "updated_since")


def list_tickets(s: Session, args: Dict[str, str]) -> Dict[str, Any]:
    """GET /api/v1/tickets with its query arguments (each at most once)."""
    params = {p["name"]: p["schema"] for p in document()["paths"]["/api/v1/tickets"]["get"]["parameters"]}
    problems: List[Dict[str, str]] = []
    for name, value in args.items():
        if name not in params:
            continue  # unknown query arguments are ignored, like most HTTP APIs do
        for e in jsonschema.Draft7Validator(params[name]).iter_errors(value):
            problems.append({"field": name, "problem": e.message[:200]})
    if problems:
        raise ApiError(422, "invalid", problems)
    since = parse_time(args["updated_since"], "updated_since") if args.get("updated_since") else None
    rows = integration.listing(s, status=args.get("status") or None, types=[args["type"]] if args.get("type") else (),
                               township=args.get("township") or None, updated_since=since)
    return {"tickets": [ticket_json(s, t) for t in rows]}


# --------------------------------------------------------------------------------------------- outages


def upsert_outage(s: Session, system: str, raw: bytes) -> Tuple[int, Dict[str, Any]]:
    """POST /api/v1/outages: (201 created | 200 updated, answer)."""
    body = decode(raw, "Outage")
    start, end = parse_time(body["start"], "start"), parse_time(body["end"], "end")
    if end <= start:
        raise ApiError(422, "invalid", [{"field": "end", "problem": "end must be after start"}])
    try:
        outage, created = outages.upsert(
            s, outage_id=body["outage_id"], kind=body["kind"], township=body["township"].strip(),
            villages=[v.strip() for v in body["villages"]], start=start, end=end, reason=body["reason"],
            actor=f"system:{system}")
    except ValueError as exc:  # the outages domain refuses values the schema cannot express
        raise ApiError(422, "invalid", [{"field": "", "problem": str(exc)[:200]}]) from None
    answer = {"outage_id": body["outage_id"], "kind": body["kind"], "status": "created" if created else "updated"}
    return (201 if created else 200), answer


def _outage_kind(outage: Any) -> str:
    return getattr(outage, "kind", None) or "planned"


def cancel_outage(s: Session, system: str, outage_id: str, raw: bytes) -> Dict[str, Any]:
    """POST /api/v1/outages/{outage_id}/cancel."""
    _known_shape(outage_id, _OUTAGE_ID_RE, "outage_id")
    body = decode(raw, "OutageCancel")
    try:
        outage = outages.cancel(s, outage_id, body["reason"], f"system:{system}")
    except LookupError:
        raise ApiError(404, "not_found", {"outage_id": outage_id[:40]}) from None
    except ValueError as exc:
        raise ApiError(409, "conflict", {"outage_id": outage_id[:40], "why": str(exc)[:200]}) from None
    return {"outage_id": outage_id, "kind": _outage_kind(outage), "status": "cancelled"}


def restored_outage(s: Session, system: str, outage_id: str, raw: bytes) -> Dict[str, Any]:
    """POST /api/v1/outages/{outage_id}/restored."""
    _known_shape(outage_id, _OUTAGE_ID_RE, "outage_id")
    body = decode(raw, "OutageRestored")
    at = parse_time(body["at"], "at") if body.get("at") else utcnow()
    try:
        outage = outages.restored(s, outage_id, at, f"system:{system}")
    except LookupError:
        raise ApiError(404, "not_found", {"outage_id": outage_id[:40]}) from None
    except ValueError as exc:
        raise ApiError(409, "conflict", {"outage_id": outage_id[:40], "why": str(exc)[:200]}) from None
    return {"outage_id": outage_id, "kind": _outage_kind(outage), "status": "restored"}
