"""The back-office integration API (/api/v1/) over HTTP against the running bot on PostgreSQL: bearer
tokens per system, JSON errors 401/403/404/409/422 (never 500 for bad input), ticket events idempotent on
event_id, the ticket listing, and an audit entry with the calling system's name for every call."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional, Tuple

import pytest
from sqlalchemy import select

from bot.config import ROOT
from bot.db import dispose_engines, session_scope
from bot.domain import audit, dispatch, privacy, tickets
from bot.domain.models import Account, TicketEvent
from bot.domain.places import Place
from tests.conftest import new_database
from tests.factories import make_contact
from tests.harness import VENV_BIN, free_port
from tests.harness import _wait as wait_ready
from tests.integration.records import seed

DISPATCH_TOKEN = "dispatch-test-token-0123456789"
MARKETING_TOKEN = "marketing-test-token-0123456789"
TOKENS = f"dispatch:{DISPATCH_TOKEN},marketing:{MARKETING_TOKEN}:outages.write"


@pytest.fixture(scope="module")
def pg_records(request) -> Iterator[str]:
    """A PostgreSQL database with the known records."""
    gen = new_database("postgresql", request)
    db = next(gen)
    with session_scope(db.url) as s:
        seed(s)
    dispose_engines()
    yield db.url
    try:
        next(gen)
    except StopIteration:
        pass


@dataclass
class ApiServer:
    url: str


@pytest.fixture(scope="module")
def api_bot(pg_records, tmp_path_factory) -> Iterator[ApiServer]:
    """The integration API's blueprint served on its own against the PostgreSQL records (the Rasa server
    mounts the same blueprint; test_the_rasa_server_mounts_the_api checks that wiring)."""
    port = free_port()
    log = tmp_path_factory.mktemp("api") / "api.log"
    env = {**os.environ, "DATABASE_URL": pg_records, "INTEGRATION_API_TOKENS": TOKENS,
           "POWERBOT_VAR_DIR": str(log.parent), "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
    proc = subprocess.Popen([str(VENV_BIN / "python"), "-m", "tests.integration.api_server", str(port)], cwd=ROOT,
                            env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    try:
        wait_ready(f"http://127.0.0.1:{port}/api/v1/openapi.json", proc, 120, log)
        yield ApiServer(f"http://127.0.0.1:{port}")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def call(bot: ApiServer, method: str, path: str, body: Any = None, token: Optional[str] = DISPATCH_TOKEN,
         raw: Optional[bytes] = None) -> Tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", int(bot.url.rsplit(":", 1)[1]), timeout=60)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    try:
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        text = resp.read().decode()
        return resp.status, json.loads(text) if text else None
    finally:
        conn.close()


def open_repair(url: str, village: str) -> str:
    with session_scope(url) as s:
        contact = make_contact(s, external=f"oApi{uuid.uuid4().hex[:12]}")
        return tickets.create(s, "repair", "wechat", "停电", contact=contact,
                              place=Place("城关镇", village, "urban")).ticket_no


def events_of(url: str, ticket_no: str) -> list:
    with session_scope(url) as s:
        ticket = tickets.by_no(s, ticket_no)
        return [e.status for e in s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                                            .order_by(TicketEvent.id))]


def test_a_missing_or_unknown_token_is_401_and_changes_nothing(api_bot, pg_records):
    ticket_no = open_repair(pg_records, "东关村")
    body = {"status": "dispatched", "event_id": "e-401"}
    for token in (None, "not-a-configured-token", MARKETING_TOKEN[:-1]):
        status, answer = call(api_bot, "POST", f"/api/v1/tickets/{ticket_no}/events", body, token=token)
        assert status == 401 and answer["error"] == "unauthorized"
    assert call(api_bot, "GET", "/api/v1/tickets", token=None)[0] == 401
    assert events_of(pg_records, ticket_no) == ["open"]


def test_a_token_limited_to_other_scopes_is_403_and_audited_with_its_system(api_bot, pg_records):
    ticket_no = open_repair(pg_records, "西关村")
    status, answer = call(api_bot, "POST", f"/api/v1/tickets/{ticket_no}/events",
                          {"status": "dispatched", "event_id": "e-403"}, token=MARKETING_TOKEN)
    assert status == 403 and answer["error"] == "forbidden"
    assert events_of(pg_records, ticket_no) == ["open"]
    with session_scope(pg_records) as s:
        entry = audit.entries(s, actor="system:marketing", action="api.ticket_event")[0]
        assert entry.outcome == "denied"


@pytest.mark.parametrize("raw", [
    b"not json",
    b"[]",
    json.dumps({"event_id": "e-422"}).encode(),                                   # no status
    json.dumps({"status": "teleported", "event_id": "e-422"}).encode(),           # unknown status
    json.dumps({"status": "dispatched"}).encode(),                                 # no event_id
    json.dumps({"status": "dispatched", "event_id": "e-422", "eta": "tomorrow"}).encode(),
    json.dumps({"status": "dispatched", "event_id": "e-422", "eta": "2026-13-45T25:61"}).encode(),
    json.dumps({"status": "dispatched", "event_id": "e-422", "colour": "red"}).encode(),
    "{\"status\": \"dispatched\", \"event_id\": \"\ud800\"}".encode("utf-8", "surrogatepass"),
])
def test_a_malformed_body_is_422_with_json_detail(api_bot, pg_records, raw):
    ticket_no = open_repair(pg_records, "南关村")
    status, answer = call(api_bot, "POST", f"/api/v1/tickets/{ticket_no}/events", raw=raw)
    assert status == 422 and answer["error"] == "invalid" and answer["detail"]
    assert events_of(pg_records, ticket_no) == ["open"]


def test_an_unknown_ticket_is_404(api_bot):
    status, answer = call(api_bot, "POST", "/api/v1/tickets/GD209901010001/events",
                          {"status": "dispatched", "event_id": "e-404"})
    assert status == 404 and answer == {"error": "not_found", "detail": {"ticket_no": "GD209901010001"}}


def test_a_customers_personal_data_request_is_404_to_outside_systems_and_stays_open(api_bot, pg_records):
    with session_scope(pg_records) as s:
        contact = make_contact(s, external=f"oApi{uuid.uuid4().hex[:12]}")
        ticket_no = privacy.file_request(s, contact, "delete").ticket.ticket_no
    for status in ("resolved", "cancelled"):
        answer = call(api_bot, "POST", f"/api/v1/tickets/{ticket_no}/events", {"status": status, "event_id": status})
        assert answer == (404, {"error": "not_found", "detail": {"ticket_no": ticket_no}})
    assert events_of(pg_records, ticket_no) == ["open"]


def test_a_transition_the_life_cycle_does_not_allow_is_409(api_bot, pg_records):
    ticket_no = open_repair(pg_records, "北关村")
    status, answer = call(api_bot, "POST", f"/api/v1/tickets/{ticket_no}/events",
                          {"status": "closed", "event_id": "e-409"})
    assert status == 409 and answer["error"] == "conflict" and answer["detail"]["why"] == "transition"
    assert events_of(pg_records, ticket_no) == ["open"]


def test_the_same_event_twice_changes_the_ticket_once_and_another_body_is_409(api_bot, pg_records):
    ticket_no = open_repair(pg_records, "东城村")
    event_id = f"dispatch-{uuid.uuid4().hex[:8]}"
    body = {"status": "dispatched", "event_id": event_id, "crew": "城关抢修一班", "eta": "2026-12-01T15:30:00",
            "note": "已派单"}
    first = call(api_bot, "POST", f"/api/v1/tickets/{ticket_no}/events", body)
    again = call(api_bot, "POST", f"/api/v1/tickets/{ticket_no}/events", dict(reversed(list(body.items()))))
    assert first == (200, {"ticket_no": ticket_no, "status": "dispatched", "duplicate": False})
    assert again == (200, {"ticket_no": ticket_no, "status": "dispatched", "duplicate": True})
    assert events_of(pg_records, ticket_no) == ["open", "dispatched"]  # one status change: one notice
    other = call(api_bot, "POST", f"/api/v1/tickets/{ticket_no}/events", {**body, "status": "on_site"})
    assert other[0] == 409 and other[1]["detail"]["event_id"] == event_id
    assert events_of(pg_records, ticket_no) == ["open", "dispatched"]
    with session_scope(pg_records) as s:
        ticket = tickets.by_no(s, ticket_no)
        assert ticket.crew.name == "城关抢修一班"
        assert ticket.eta.isoformat() == "2026-12-01T07:30:00"  # stored as UTC
        actions = [(e.actor, e.outcome) for e in audit.entries(s, action="api.ticket_event") if e.target_id == ticket_no]
        assert actions == [("system:dispatch", "denied"), ("system:dispatch", "ok"), ("system:dispatch", "ok")]


def test_reopened_moves_a_resolved_ticket_back_to_open(api_bot, pg_records):
    ticket_no = open_repair(pg_records, "西城村")
    for i, status in enumerate(("on_site", "resolved", "reopened")):
        code, answer = call(api_bot, "POST", f"/api/v1/tickets/{ticket_no}/events",
                            {"status": status, "event_id": f"{ticket_no}-{i}"})
        assert code == 200
    assert answer["status"] == "open"
    assert events_of(pg_records, ticket_no) == ["open", "on_site", "resolved", "open"]


def test_an_event_on_a_merged_ticket_applies_to_the_surviving_incident(api_bot, pg_records):
    incident, duplicate = open_repair(pg_records, "南城村"), open_repair(pg_records, "北城村")
    with session_scope(pg_records) as s:
        dispatch.merge(s, tickets.by_no(s, duplicate), tickets.by_no(s, incident), "staff:d1")
    status, answer = call(api_bot, "POST", f"/api/v1/tickets/{duplicate}/events",
                          {"status": "dispatched", "event_id": f"m-{duplicate}"})
    assert status == 200 and answer["ticket_no"] == incident
    assert events_of(pg_records, incident) == ["open", "dispatched"]


def test_the_listing_gives_open_tickets_with_masked_contacts(api_bot, pg_records):
    ticket_no = open_repair(pg_records, "上庄村")
    with session_scope(pg_records) as s:
        account = s.scalar(select(Account).where(Account.account_no == "5100000104"))
        with_phone = tickets.create(s, "meter", "wechat", "电表快", contact=make_contact(s, external="oApiMeter"),
                                    account=account).ticket_no
    status, answer = call(api_bot, "GET", "/api/v1/tickets?status=open&township=%E5%9F%8E%E5%85%B3%E9%95%87")
    assert status == 200
    listed = {t["ticket_no"]: t for t in answer["tickets"]}
    assert ticket_no in listed and with_phone in listed  # the meter ticket's township is its account's
    assert all(t["status"] in ("open", "dispatched", "on_site") for t in answer["tickets"])
    status, meters = call(api_bot, "GET", "/api/v1/tickets?type=meter")
    (meter,) = [t for t in meters["tickets"] if t["ticket_no"] == with_phone]
    assert meter["contact_phone_masked"] == "139****4444" and meter["account_no"] == "5100000104"
    assert call(api_bot, "GET", "/api/v1/tickets?status=lost")[0] == 422
    assert call(api_bot, "GET", "/api/v1/tickets?updated_since=yesterday")[0] == 422


def test_the_openapi_document_is_served(api_bot):
    status, doc = call(api_bot, "GET", "/api/v1/openapi.json", token=None)
    assert status == 200 and doc["openapi"].startswith("3.")
    assert set(doc["paths"]) >= {"/api/v1/tickets/{ticket_no}/events", "/api/v1/tickets", "/api/v1/outages",
                                 "/api/v1/outages/{outage_id}/cancel", "/api/v1/outages/{outage_id}/restored"}


# ------------------------------------------------------------------------------------------ outages


def test_an_outage_is_created_then_updated_idempotently_cancelled_and_unknown_ids_are_404(api_bot):
    outage_id = f"JH-API-{uuid.uuid4().hex[:6]}"
    body = {"outage_id": outage_id, "kind": "planned", "township": "王安镇", "villages": ["王安村"],
            "start": "2026-12-20T08:00:00", "end": "2026-12-20T17:00:00", "reason": "10kV线路检修"}
    assert call(api_bot, "POST", "/api/v1/outages", body, token=MARKETING_TOKEN) == (
        201, {"outage_id": outage_id, "kind": "planned", "status": "created"})
    assert call(api_bot, "POST", "/api/v1/outages", body, token=MARKETING_TOKEN)[0] == 200
    status, answer = call(api_bot, "POST", "/api/v1/outages", {**body, "end": "2026-12-20T07:00:00"},
                          token=MARKETING_TOKEN)
    assert status == 422 and answer["detail"][0]["field"] == "end"
    assert call(api_bot, "POST", f"/api/v1/outages/{outage_id}/cancel", {"reason": "天气原因"},
                token=MARKETING_TOKEN) == (200, {"outage_id": outage_id, "kind": "planned", "status": "cancelled"})
    status, answer = call(api_bot, "POST", f"/api/v1/outages/{outage_id}/restored", {}, token=MARKETING_TOKEN)
    assert status == 409 and answer["error"] == "conflict"  # a cancelled outage is not restored
    for path, payload in (("cancel", {"reason": "x"}), ("restored", {"at": "2026-12-20T12:00"})):
        status, answer = call(api_bot, "POST", f"/api/v1/outages/JH-NONE-1/{path}", payload, token=MARKETING_TOKEN)
        assert (status, answer["error"]) == (404, "not_found")


def test_a_fault_posted_by_dispatch_is_restored(api_bot):
    outage_id = f"GZ-API-{uuid.uuid4().hex[:6]}"
    body = {"outage_id": outage_id, "kind": "fault", "township": "城关镇", "villages": [],
            "start": "2026-12-01T09:10:00+08:00", "end": "2026-12-01T12:00:00+08:00", "reason": "线路故障跳闸"}
    assert call(api_bot, "POST", "/api/v1/outages", body)[0] == 201
    assert call(api_bot, "POST", f"/api/v1/outages/{outage_id}/restored", {"at": "2026-12-01T11:20:00"}) == (
        200, {"outage_id": outage_id, "kind": "fault", "status": "restored"})


def test_the_marketing_token_may_post_outages_but_not_read_tickets(api_bot):
    status, answer = call(api_bot, "GET", "/api/v1/tickets", token=MARKETING_TOKEN)
    assert status == 403 and answer["error"] == "forbidden"


# ------------------------------------------------------------------------------------- schemathesis

TOOLS_BIN = Path(__file__).resolve().parents[2] / ".venv-tools" / "bin"
SCHEMATHESIS_SEED = "20261201"


@pytest.mark.tools
def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_document(api_bot, pg_records, tmp_path):
    """Schemathesis (from .venv-tools: it needs newer attrs/jsonschema than Rasa allows) generates valid and
    invalid calls for every operation of the OpenAPI document, with a fixed seed and 200 examples each."""
    for village in ("东关村", "西关村"):  # real tickets, so some generated events meet one
        open_repair(pg_records, village)
    command = [
        str(TOOLS_BIN / "schemathesis"), "run", f"{api_bot.url}/api/v1/openapi.json",
        "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
                    "response_schema_conformance,response_headers_conformance,negative_data_rejection",
        "-H", f"Authorization: Bearer {DISPATCH_TOKEN}",
        "--seed", SCHEMATHESIS_SEED, "--max-examples", "200", "--phases", "examples,coverage,fuzzing",
        "--generation-database", "none", "--workers", "4", "--no-color", "--request-timeout", "30",
        "--suppress-health-check", "too_slow,filter_too_much",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1500, cwd=tmp_path,
                          env={"PATH": f"{TOOLS_BIN}:/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]


@pytest.mark.rasa
def test_the_rasa_server_mounts_the_api_and_keeps_it_off_without_tokens(bot):
    server = ApiServer(bot.url)
    status, doc = call(server, "GET", "/api/v1/openapi.json", token=None)
    assert status == 200 and doc["info"]["version"]
    status, answer = call(server, "GET", "/api/v1/tickets", token=DISPATCH_TOKEN)
    assert status == 404 and answer["error"] == "not_found"
