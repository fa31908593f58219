"""The action server answers only the Rasa server: every call but /health needs the shared
ACTION_SERVER_TOKEN in its Authorization header (security fault 1: a made-up tracker with a
customer's sender id used to get that customer's bill from anyone who could reach the port)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict, Iterator, Tuple

import pytest
from rasa.shared.core.domain import Domain

from bot.clock import utcnow
from bot.config import ROOT
from bot.db import dispose_engines, session_scope
from bot.domain import accounts, bindings, contacts
from tests.conftest import _TMP
from tests.eventually import eventually
from tests.harness import free_port
from tests.integration.records import seed

TOKEN = "test-action-server-token-0123456789"
SENDER = "wechat:oActionServerVictim"
ACCOUNT = "5100000101"  # 张建国, 99.30 元 unpaid in the records
DOMAIN: Dict[str, Any] = Domain.load(str(ROOT / "domain.yml")).as_dict()


def _healthy(url: str, proc: subprocess.Popen) -> bool:
    assert proc.poll() is None, "the action server exited"
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def action_server(sqlite_template, tmp_path_factory) -> Iterator[str]:
    """The product's action server on a free port, over a records database in which SENDER has
    verified ACCOUNT. Yields its base URL."""
    path = _TMP / f"actions-{uuid.uuid4().hex[:8]}.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    with session_scope(url) as s:
        seed(s)
        contact = contacts.for_sender(s, SENDER)
        bindings._bind(s, contact, accounts.get_by_no(s, ACCOUNT), "sms_code", utcnow())
    dispose_engines()
    port = free_port()
    log = tmp_path_factory.mktemp("action-server") / "actions.log"
    env = {**os.environ, "DATABASE_URL": url, "ACTION_SERVER_TOKEN": TOKEN}
    proc = subprocess.Popen([sys.executable, "-m", "bot.action_server", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        eventually(lambda: _healthy(base + "/health", proc), timeout=90, what="the action server")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def action_call(action: str = "action_query_bill") -> bytes:
    latest = {"text": "查电费", "intent": {"name": "query_bill", "confidence": 0.99}, "entities": [],
              "message_id": "m1", "metadata": {}}
    tracker = {"sender_id": SENDER, "slots": {}, "latest_message": latest, "paused": False,
               "events": [{"event": "user", "text": "查电费", "parse_data": latest}],
               "followup_action": None, "active_loop": {}, "latest_action_name": "action_listen"}
    return json.dumps({"next_action": action, "sender_id": SENDER, "tracker": tracker, "domain": DOMAIN,
                       "version": "3.6.21"}).encode()


def post(url: str, body: bytes, headers: Dict[str, str] | None = None) -> Tuple[int, str]:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_a_call_without_the_token_is_refused_with_401_and_no_bill(action_server):
    status, body = post(action_server + "/webhook", action_call())
    assert status == 401
    assert "99.30" not in body and ACCOUNT not in body


@pytest.mark.parametrize("header", [f"Bearer {TOKEN}x", "Bearer wrong", f"Bearer {TOKEN[:-1]}"])
def test_a_call_with_a_wrong_token_is_refused_with_403_and_no_bill(action_server, header):
    status, body = post(action_server + "/webhook", action_call(), {"Authorization": header})
    assert status == 403
    assert "99.30" not in body and ACCOUNT not in body


def test_the_token_in_the_url_or_another_scheme_does_not_count(action_server):
    assert post(action_server + f"/webhook?token={TOKEN}", action_call())[0] == 401
    assert post(action_server + "/webhook", action_call(), {"Authorization": f"Basic {TOKEN}"})[0] == 401


def test_the_list_of_actions_needs_the_token_too(action_server):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(action_server + "/actions", timeout=10)
    assert refused.value.code == 401


def test_with_the_token_the_rasa_server_gets_the_answer(action_server):
    status, body = post(action_server + "/webhook", action_call(), {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200
    assert ACCOUNT in body  # the bill of the account, as the customer would be told it


def test_health_stays_open_for_process_managers(action_server):
    with urllib.request.urlopen(action_server + "/health", timeout=10) as resp:
        assert resp.status == 200


def test_an_oversized_call_gets_413_before_its_body_is_read(action_server):
    """Sanic refuses a Content-Length above the limit at once: the client is told while it still
    holds almost all of the body (a 90 MB POST no longer fills the server's memory)."""
    host, port = action_server.removeprefix("http://").split(":")
    declared = 90 * 1024 * 1024
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(f"POST /webhook HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                     f"Authorization: Bearer {TOKEN}\r\nContent-Length: {declared}\r\n\r\n".encode())
        conn.sendall(b"{" + b" " * 65536)  # a first slice of the body; the rest is never sent
        reply = conn.recv(4096).decode(errors="replace")
    assert reply.startswith("HTTP/1.1 413")


def test_the_action_server_refuses_to_start_without_a_token(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ACTION_SERVER_TOKEN"}
    done = subprocess.run([sys.executable, "-m", "bot.action_server", "--port", str(free_port())], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "ACTION_SERVER_TOKEN" in done.stderr.strip().splitlines()[-1]
