"""Import of the marketing system's CSV exports (accounts, bills, planned outages).

Each file is validated completely before anything is written, and written in one transaction:
a file with a bad row loads nothing and every bad row is reported as ``file:line: column: reason``.
Re-importing updates rows by their natural key (account_no; account_no+period; outage_id), so
importing the same directory twice leaves the same rows.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Sequence, Tuple

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.clock import local_to_utc, utcnow
from bot.domain import audit
from bot.domain.accounts import ACCOUNT_NO_RE
from bot.domain.models import AREA_TYPES, CATEGORIES, TARIFFS, Account, Bill, PlannedOutage
from bot.domain.pii import normalize_phone, phone_hash
from bot.domain.places import gazetteer, village_of

ACCOUNT_COLUMNS = ("account_no", "name", "phone", "address", "township", "area_type", "category", "tariff",
                   "prepaid", "balance")
BILL_COLUMNS = ("account_no", "period", "kwh", "kwh_peak", "kwh_valley", "amount", "due_date", "paid_at")
OUTAGE_COLUMNS = ("outage_id", "township", "villages", "start", "end", "reason")
FILES = ("accounts.csv", "bills.csv", "planned_outages.csv")
_CHUNK = 1000
_MAX_REPORTED = 50


class _Rollback(Exception):
    """Leave the file's transaction without writing anything."""


class RowError(ValueError):
    """A value in a row is wrong; the message names the column."""


@dataclass
class FileResult:
    file: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    errors: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


# ---------------------------------------------------------------- value parsers

def _required(row: Dict[str, str], column: str) -> str:
    value = (row.get(column) or "").strip()
    if not value:
        raise RowError(f"{column}: required")
    return value


def _choice(row: Dict[str, str], column: str, allowed: Sequence[str]) -> str:
    value = _required(row, column)
    if value not in allowed:
        raise RowError(f"{column}: must be one of {'|'.join(allowed)}, got {value!r}")
    return value


def _decimal(row: Dict[str, str], column: str, minimum: Decimal | None = None,
             required: bool = True) -> Decimal | None:
    raw = (row.get(column) or "").strip()
    if not raw:
        if required:
            raise RowError(f"{column}: required")
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise RowError(f"{column}: not a number: {raw!r}") from None
    if not value.is_finite():
        raise RowError(f"{column}: not a number: {raw!r}")
    if minimum is not None and value < minimum:
        raise RowError(f"{column}: must be at least {minimum}")
    return value.quantize(Decimal("0.01"))


def _bool(row: Dict[str, str], column: str) -> bool:
    value = _required(row, column).lower()
    if value not in ("true", "false"):
        raise RowError(f"{column}: must be true or false, got {value!r}")
    return value == "true"


def _date(row: Dict[str, str], column: str) -> date:
    raw = _required(row, column)
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise RowError(f"{column}: not a date YYYY-MM-DD: {raw!r}") from None


def _local_datetime(row: Dict[str, str], column: str, required: bool = True) -> datetime | None:
    raw = (row.get(column) or "").strip()
    if not raw:
        if required:
            raise RowError(f"{column}: required")
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        try:
            value = datetime.combine(date.fromisoformat(raw), datetime.min.time())
        except ValueError:
            raise RowError(f"{column}: not an ISO 8601 date/time: {raw!r}") from None
    return local_to_utc(value)


def _account_no(row: Dict[str, str]) -> str:
    value = _required(row, "account_no")
    if not ACCOUNT_NO_RE.match(value):
        raise RowError("account_no: must be 10 or 13 digits")
    return value


def _period(row: Dict[str, str]) -> str:
    value = _required(row, "period")
    try:
        y, m = value.split("-")
        if len(y) != 4 or len(m) != 2 or not 1 <= int(m) <= 12:
            raise ValueError
    except ValueError:
        raise RowError(f"period: must be YYYY-MM, got {value!r}") from None
    return value


# ---------------------------------------------------------------- reading

def _read(path: Path, columns: Sequence[str], result: FileResult) -> List[Tuple[int, Dict[str, str]]]:
    """Rows with their line numbers; header problems go to ``result.errors``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        result.errors.append(f"{path.name}: not UTF-8 ({exc.reason} at byte {exc.start})")
        return []
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    unknown = [c for c in header if c not in columns]
    missing = [c for c in columns if c not in header]
    for c in unknown:
        result.errors.append(f"{path.name}:1: unknown column {c!r}")
    for c in missing:
        result.errors.append(f"{path.name}:1: missing column {c!r}")
    if unknown or missing:
        return []
    rows = []
    for row in reader:
        if None in row:
            result.errors.append(f"{path.name}:{reader.line_num}: more fields than columns")
            continue
        if all(not (v or "").strip() for v in row.values()):
            continue
        rows.append((reader.line_num, row))
    return rows


def _validate(path: Path, rows: Iterable[Tuple[int, Dict[str, str]]], parse: Callable[[Dict[str, str]], dict],
              key: Callable[[dict], object], result: FileResult) -> List[dict]:
    parsed: List[dict] = []
    seen: Dict[object, int] = {}
    for line, row in rows:
        try:
            values = parse(row)
        except RowError as exc:
            result.errors.append(f"{path.name}:{line}: {exc}")
            continue
        k = key(values)
        if k in seen:
            result.errors.append(f"{path.name}:{line}: duplicate of line {seen[k]}")
            continue
        seen[k] = line
        values["_line"] = line
        parsed.append(values)
    return parsed


def _upsert(s: Session, model: Any, rows: List[dict], conflict: Sequence[str]) -> None:
    dialect = s.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start:start + _CHUNK]
        stmt = module.insert(model.__table__)
        update_cols = {c: stmt.excluded[c] for c in chunk[0] if c not in conflict}
        s.execute(stmt.on_conflict_do_update(index_elements=list(conflict), set_=update_cols), chunk)


# ---------------------------------------------------------------- the three files

def _parse_account(row: Dict[str, str]) -> dict:
    phone_raw = (row.get("phone") or "").strip()
    try:
        phone = normalize_phone(phone_raw) if phone_raw else None
    except ValueError:
        raise RowError("phone: must be a mainland mobile number (11 digits starting with 1)") from None
    address = _required(row, "address")
    category = _choice(row, "category", CATEGORIES)
    tariff = _choice(row, "tariff", TARIFFS)
    if tariff == "tou" and category != "residential":
        raise RowError("tariff: tou applies to residential accounts only")
    name = _required(row, "name")
    return {
        "account_no": _account_no(row),
        "name": name,
        "phone": phone,
        "phone_hash": phone_hash(phone) if phone else None,
        "address": address[:200],
        "township": _required(row, "township")[:40],
        "village": village_of(address),
        "area_type": _choice(row, "area_type", AREA_TYPES),
        "category": category,
        "tariff": tariff,
        "prepaid": _bool(row, "prepaid"),
        "balance": _decimal(row, "balance"),
    }


def import_accounts(s: Session, path: Path) -> FileResult:
    result = FileResult(path.name)
    rows = _read(path, ACCOUNT_COLUMNS, result)
    parsed = _validate(path, rows, _parse_account, lambda v: v["account_no"], result)
    result.rows = len(rows)
    if result.errors:
        return result
    existing = set()
    numbers = [p["account_no"] for p in parsed]
    for start in range(0, len(numbers), _CHUNK):
        existing.update(s.scalars(select(Account.account_no).where(Account.account_no.in_(numbers[start:start + _CHUNK]))))
    now = utcnow()
    for p in parsed:
        p.pop("_line")
        p["updated_at"] = now
    _upsert(s, Account, parsed, ("account_no",))
    result.updated = len(existing)
    result.inserted = len(parsed) - len(existing)
    return result


def _account_ids(s: Session, numbers: Sequence[str]) -> Dict[str, Tuple[int, str]]:
    found: Dict[str, Tuple[int, str]] = {}
    unique = sorted(set(numbers))
    for start in range(0, len(unique), _CHUNK):
        q = select(Account.account_no, Account.id, Account.tariff).where(Account.account_no.in_(unique[start:start + _CHUNK]))
        for number, id_, tariff in s.execute(q):
            found[number] = (id_, tariff)
    return found


def _parse_bill(row: Dict[str, str]) -> dict:
    kwh = _decimal(row, "kwh", Decimal(0))
    assert kwh is not None  # required: _decimal raised RowError otherwise
    peak = _decimal(row, "kwh_peak", Decimal(0), required=False)
    valley = _decimal(row, "kwh_valley", Decimal(0), required=False)
    if (peak is None) != (valley is None):
        raise RowError("kwh_peak/kwh_valley: give both or neither")
    if peak is not None and valley is not None and abs(peak + valley - kwh) > 1:
        raise RowError("kwh_peak + kwh_valley must equal kwh")
    return {
        "account_no": _account_no(row),
        "period": _period(row),
        "kwh": kwh,
        "kwh_peak": peak,
        "kwh_valley": valley,
        "amount": _decimal(row, "amount"),
        "due_date": _date(row, "due_date"),
        "paid_at": _local_datetime(row, "paid_at", required=False),
    }


def import_bills(s: Session, path: Path) -> FileResult:
    result = FileResult(path.name)
    rows = _read(path, BILL_COLUMNS, result)
    parsed = _validate(path, rows, _parse_bill, lambda v: (v["account_no"], v["period"]), result)
    result.rows = len(rows)
    if result.errors:
        return result
    accounts = _account_ids(s, [p["account_no"] for p in parsed])
    for p in parsed:
        found = accounts.get(p["account_no"])
        if found is None:
            result.errors.append(f"{path.name}:{p['_line']}: account_no: no such account {p['account_no']}")
        elif found[1] == "tou" and p["kwh_peak"] is None:
            result.errors.append(f"{path.name}:{p['_line']}: kwh_peak: required for a tou account")
        elif found[1] != "tou" and p["kwh_peak"] is not None:
            result.errors.append(f"{path.name}:{p['_line']}: kwh_peak: must be empty unless the tariff is tou")
    if result.errors:
        return result
    existing = set()
    ids = sorted({accounts[p["account_no"]][0] for p in parsed})
    for start in range(0, len(ids), _CHUNK):
        existing.update(s.execute(select(Bill.account_id, Bill.period).where(Bill.account_id.in_(ids[start:start + _CHUNK]))).all())
    values = []
    for p in parsed:
        account_id = accounts[p.pop("account_no")][0]
        p.pop("_line")
        p["account_id"] = account_id
        values.append(p)
    _upsert(s, Bill, values, ("account_id", "period"))
    result.updated = sum(1 for v in values if (v["account_id"], v["period"]) in existing)
    result.inserted = len(values) - result.updated
    return result


def _parse_outage(row: Dict[str, str]) -> dict:
    start = _local_datetime(row, "start")
    end = _local_datetime(row, "end")
    assert start is not None and end is not None
    if end <= start:
        raise RowError("end: must be after start")
    villages = [v.strip() for v in (row.get("villages") or "").split(";") if v.strip()]
    return {
        "outage_id": _required(row, "outage_id")[:40],
        "township": _required(row, "township")[:40],
        "villages": ";".join(villages),
        "start": start,
        "end": end,
        "reason": (row.get("reason") or "").strip(),
    }


def import_outages(s: Session, path: Path) -> FileResult:
    result = FileResult(path.name)
    rows = _read(path, OUTAGE_COLUMNS, result)
    parsed = _validate(path, rows, _parse_outage, lambda v: v["outage_id"], result)
    result.rows = len(rows)
    if result.errors:
        return result
    ids = [p["outage_id"] for p in parsed]
    existing = set(s.scalars(select(PlannedOutage.outage_id).where(PlannedOutage.outage_id.in_(ids)))) if ids else set()
    for p in parsed:
        p.pop("_line")
    _upsert(s, PlannedOutage, parsed, ("outage_id",))
    result.updated = len(existing)
    result.inserted = len(parsed) - len(existing)
    return result


IMPORTERS = {
    "accounts.csv": import_accounts,
    "bills.csv": import_bills,
    "planned_outages.csv": import_outages,
}


def import_dir(directory: Path, session_factory: Callable, actor: str = "system") -> List[FileResult]:
    """Import every known CSV in ``directory``, each file in its own transaction (accounts first)."""
    directory = Path(directory)
    present = [name for name in FILES if (directory / name).exists()]
    if not present:
        raise FileNotFoundError(f"{directory}: none of {', '.join(FILES)} found")
    results = []
    for name in present:
        result = FileResult(name)
        try:
            with session_factory() as s:
                result = IMPORTERS[name](s, directory / name)
                if result.errors:
                    raise _Rollback()
                audit.record(s, actor, "data.import", "file", name, rows=result.rows, inserted=result.inserted,
                             updated=result.updated)
        except _Rollback:
            pass
        if len(result.errors) > _MAX_REPORTED:
            extra = len(result.errors) - _MAX_REPORTED
            result.errors = result.errors[:_MAX_REPORTED] + [f"{name}: … and {extra} more errors"]
        results.append(result)
    gazetteer.invalidate()
    return results
