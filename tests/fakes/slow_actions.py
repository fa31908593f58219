"""A deliberately slow action server: the real one behind a proxy that holds chosen actions back.

Rasa posts ``{"next_action", "sender_id", "tracker", "domain", "version"}`` to its action endpoint (rasa-sdk's
webhook protocol). :class:`SlowActionServer` receives those calls, waits ``delay_s`` before passing on
the ones named in ``slow`` (``action_faq`` by default: "电费怎么交" becomes a slow answer, the way a slow
back end makes one) and forwards everything to the real action server, so the dialogue stays exactly
the product's. It counts every call per conversation and action — the evidence of how many Rasa turns
ran.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import urllib.error
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterable, Tuple

from bot.config import ROOT
from tests.harness import TEST_ACTION_SERVER_TOKEN, _wait, action_server_command, free_port

SLOW_ACTION = "action_faq"


def start_action_server(workdir: Path, database_url: str) -> Tuple[str, subprocess.Popen]:
    """The product's action server (``python -m bot.action_server``) on a free port: its webhook URL and process."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = workdir / "actions.log"
    env = {**os.environ, "DATABASE_URL": database_url, "POWERBOT_VAR_DIR": str(workdir / "var"),
           "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2", "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
           "ACTION_SERVER_TOKEN": TEST_ACTION_SERVER_TOKEN}
    proc = subprocess.Popen(
        action_server_command(port),
        cwd=ROOT, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
    )
    try:
        _wait(f"http://127.0.0.1:{port}/health", proc, 60, log)
    except BaseException:
        proc.kill()
        raise
    return f"http://127.0.0.1:{port}/webhook", proc


class SlowActionServer:
    def __init__(self, upstream_url: str, delay_s: float = 6.0, slow: Iterable[str] = (SLOW_ACTION,)) -> None:
        self.upstream_url = upstream_url
        self.delay_s = delay_s
        self.slow = set(slow)
        self.calls: Counter[Tuple[str, str]] = Counter()  # (sender_id, action) -> calls
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/webhook"

    def count(self, sender_id: str, action: str = SLOW_ACTION) -> int:
        with self._lock:
            return self.calls[(sender_id, action)]

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def _forward(self, raw: bytes, authorization: str) -> Tuple[int, bytes]:
        try:
            request: Dict[str, Any] = json.loads(raw.decode("utf-8"))
        except ValueError:
            return 400, b'{"error": "bad json"}'
        action = str(request.get("next_action") or "")
        with self._lock:
            self.calls[(str(request.get("sender_id") or ""), action)] += 1
        if action in self.slow:
            self._stopping.wait(self.delay_s)  # the slow back end
        upstream = urllib.request.Request(self.upstream_url, data=raw, method="POST",
                                          headers={"Content-Type": "application/json", "Authorization": authorization})
        try:
            with urllib.request.urlopen(upstream, timeout=60) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def _handler(self) -> type:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, body = fake._forward(raw, self.headers.get("Authorization") or "")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler
