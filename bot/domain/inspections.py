"""Equipment inspection (seed 1.2, 设备巡检): a crew member's finding on a line, a 台区 (transformer area)
or a pole becomes a defect ticket in the dispatch queue, beside the customers' hazard reports of the same
place, with the hazard SLA (service_rules.yml ``sla.hazard_arrival_minutes``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Dict, Mapping

from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.domain import places, tickets
from bot.domain.models import Inspection, Ticket
from bot.domain.places import Place
from bot.domain.rules import Rules, get_rules

EQUIPMENT_KINDS = ("line", "transformer_area", "pole", "other")
SEVERITIES = ("general", "serious", "critical")  # 一般 / 严重 / 危急 (defect grades of the inspection rules)
MAX_READINGS = 20


class InspectionError(Exception):
    """A finding with a missing or malformed field (``field`` names it)."""

    def __init__(self, field_name: str) -> None:
        super().__init__(field_name)
        self.field = field_name


@dataclass(frozen=True)
class Finding:
    """What the inspection page sends: equipment, place (GPS or township/village), readings, severity."""

    equipment_kind: str
    equipment_ref: str
    severity: str
    description: str = ""
    township: str | None = None
    village: str | None = None
    address: str | None = None
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    readings: Dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_form(cls, body: Mapping[str, Any]) -> Finding:
        """Validate the page's fields; raises InspectionError naming the first bad one."""
        kind = str(body.get("equipment_kind") or "")
        if kind not in EQUIPMENT_KINDS:
            raise InspectionError("equipment_kind")
        ref = " ".join(str(body.get("equipment_ref") or "").split())[:100]
        if not ref:
            raise InspectionError("equipment_ref")
        severity = str(body.get("severity") or "")
        if severity not in SEVERITIES:
            raise InspectionError("severity")
        lat, lng = _coordinate(body.get("latitude"), 90, "latitude"), _coordinate(body.get("longitude"), 180, "longitude")
        township = " ".join(str(body.get("township") or "").split())[:40] or None
        if (lat is None or lng is None) and not township:
            raise InspectionError("place")
        raw = body.get("readings") or {}
        if not isinstance(raw, dict) or len(raw) > MAX_READINGS:
            raise InspectionError("readings")
        readings = {str(k)[:40]: str(v)[:40] for k, v in raw.items() if str(k).strip()}
        return cls(kind, ref, severity, str(body.get("description") or "").strip()[:1000], township,
                   " ".join(str(body.get("village") or "").split())[:40] or None,
                   str(body.get("address") or "").strip()[:200] or None, lat, lng, readings)


def _coordinate(value: Any, bound: int, name: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value)).quantize(Decimal("0.000001"))
    except InvalidOperation:
        raise InspectionError(name) from None
    if not number.is_finite() or abs(number) > bound:
        raise InspectionError(name)
    return number


def record(s: Session, finding: Finding, inspector: str, now: datetime | None = None,
           rules: Rules | None = None) -> Ticket:
    """Open the defect ticket (priority urgent for critical findings) and keep the finding beside it."""
    now = now or utcnow()
    gaz = places.gazetteer.load(s)
    township = finding.township
    area_type = gaz.townships.get(township) if township else None
    place = Place(township, finding.village, area_type)
    where = finding.address or " ".join(x for x in (finding.township, finding.village) if x) or (
        f"{finding.latitude},{finding.longitude}")
    description = f"[{finding.equipment_ref}] {finding.description}".strip()
    ticket = tickets.create(s, "defect", "console", description, place=place, address=where,
                            subtype=finding.equipment_kind,
                            priority="urgent" if finding.severity == "critical" else "normal",
                            actor=inspector, now=now, rules=rules or get_rules())
    s.add(Inspection(ticket_id=ticket.id, equipment_kind=finding.equipment_kind, equipment_ref=finding.equipment_ref,
                     readings=finding.readings, severity=finding.severity, latitude=finding.latitude,
                     longitude=finding.longitude, inspector=inspector, created_at=now))
    s.flush()
    return ticket
