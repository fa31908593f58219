"""A deliberately slow action server: a fake speaking rasa-sdk's webhook protocol.

Rasa posts ``{"next_action", "sender_id", "tracker", "domain", "version"}`` to the action endpoint and
expects ``{"events": [...], "responses": [...]}``. This fake answers ``action_faq`` with the domain's
``utter_payment_methods/general`` response after ``delay_s`` seconds (so "电费怎么交" becomes a slow
answer, the way a slow back end makes one), answers every other action at once with no events, and
counts every call per conversation — the evidence of how many Rasa turns ran.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Tuple

SLOW_ACTION = "action_faq"
SLOW_RESPONSE = "utter_payment_methods/general"


class SlowActionServer:
    def __init__(self, delay_s: float = 6.0) -> None:
        self.delay_s = delay_s
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

    def _answer(self, request: Dict[str, Any]) -> Dict[str, Any]:
        action = str(request.get("next_action") or "")
        with self._lock:
            self.calls[(str(request.get("sender_id") or ""), action)] += 1
        if action != SLOW_ACTION:
            return {"events": [], "responses": []}
        self._stopping.wait(self.delay_s)  # the slow back end
        return {"events": [], "responses": [{"response": SLOW_RESPONSE}]}

    def _handler(self) -> type:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802  (health, like rasa-sdk's /health)
                self._send({"status": "ok"})

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    request = json.loads(raw.decode("utf-8"))
                except ValueError:
                    self._send({"error": "bad json"}, status=400)
                    return
                self._send(fake._answer(request))

            def _send(self, payload: Dict[str, Any], status: int = 200) -> None:
                body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler
