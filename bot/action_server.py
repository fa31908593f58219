"""The action server: rasa-sdk's web app for ``actions/``, answering only the Rasa server.

rasa-sdk 3.6 runs any action for anyone who can reach its port (``rasa run actions`` listens on
0.0.0.0): a made-up tracker with a customer's sender id would get that customer's bill. This module
builds the same app (:func:`rasa_sdk.endpoint.create_app`) and puts one check in front of it:

* every request except ``GET /health`` and ``GET /metrics`` must carry ``Authorization: Bearer <ACTION_SERVER_TOKEN>``
  — the Rasa server sends it from the ``headers:`` of ``action_endpoint`` in ``endpoints.yml``
  (a header, not Rasa's ``token:``, which would put the secret in the URL and so in access logs).
  Missing → 401, wrong → 403, compared in constant time, before the body is parsed;
* bodies above :data:`bot.startup.ACTION_SERVER_MAX_REQUEST_BYTES` get 413 unread;
* it listens on 127.0.0.1 unless told otherwise (``--interface``);
* no CORS: only the Rasa server calls it, never a browser.

Run: ``python -m bot.action_server [--port 5055] [--interface 127.0.0.1]`` with
``ACTION_SERVER_TOKEN`` set (it refuses to start without it, exit status 2).
"""

from __future__ import annotations

import argparse
import hmac
import logging
import sys
from typing import List, Optional

from rasa_sdk.endpoint import create_app as create_rasa_sdk_app
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import action_metrics, logs, startup
from bot.config import ConfigError

logger = logging.getLogger(__name__)

#: Paths served without the token (liveness for process managers and `bot run`; Prometheus).
OPEN_PATHS = frozenset({"/health", "/metrics"})

DEFAULT_PORT = 5055


def token_matches(header: str | None, token: str) -> bool | None:
    """Does an ``Authorization`` header carry ``token``? ``None`` when no bearer token was sent at all.
    Constant time in the token's content."""
    if not header:
        return None
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return None
    return hmac.compare_digest(presented.strip().encode("utf-8"), token.encode("utf-8"))


def create_app(token: str, action_package: str = "actions",
               max_request_bytes: int = startup.ACTION_SERVER_MAX_REQUEST_BYTES) -> Sanic:
    """rasa-sdk's action app for ``action_package`` that refuses calls without ``token``.

    Raises :class:`ValueError` for an empty token (an app open to everyone is never built)."""
    if not token:
        raise ValueError("an action server needs a token")
    app = create_rasa_sdk_app(action_package, cors_origins="", auto_reload=False)
    app.config.REQUEST_MAX_SIZE = max_request_bytes

    async def require_token(request: Request) -> Optional[HTTPResponse]:
        if request.path in OPEN_PATHS:
            return None
        verdict = token_matches(request.headers.get("Authorization"), token)
        if verdict is None:
            return response.json({"error": "missing token"}, status=401,
                                 headers={"WWW-Authenticate": "Bearer"})
        if not verdict:
            logger.warning("action server: wrong token from %s", request.ip)
            return response.json({"error": "wrong token"}, status=403)
        return None

    async def http_error(request: Request, error: SanicException) -> HTTPResponse:
        # rasa-sdk answers every exception with 500; keep Sanic's own status (413, 404, 405 …)
        return response.json({"error": str(error)}, status=error.status_code)

    app.register_middleware(require_token, "request")
    action_metrics.extend(app)
    app.error_handler.add(SanicException, http_error)
    return app


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot.action_server",
                                     description="the action server (needs ACTION_SERVER_TOKEN)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--interface", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; 0.0.0.0 when Rasa servers run elsewhere)")
    parser.add_argument("--actions", default="actions", help="package of the actions (default: actions)")
    return parser


def main(argv: List[str] | None = None) -> int:
    """Start the action server; exit status 2 on a configuration error (printed as one line)."""
    args = build_parser().parse_args(argv)
    try:
        settings = startup.start_action_server()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)-7s %(name)s - %(message)s")
    logs.install_json_logs(settings.log_format)
    assert settings.action_server_token  # start_action_server refuses to start without it
    app = create_app(settings.action_server_token, args.actions)
    logger.info("action server on http://%s:%d (token required)", args.interface, args.port)
    app.run(args.interface, args.port, workers=1, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
