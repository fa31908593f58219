"""Serve the integration API blueprint alone — the same blueprint the Rasa server mounts at /api/v1 —
for the API's HTTP tests: a real server on a real database that starts in seconds, without loading a
model. Usage: ``python -m tests.integration.api_server PORT`` (settings from the environment)."""

from __future__ import annotations

import sys

from sanic import Sanic

from bot.api.channel import PREFIX, build_blueprint


def main(port: int) -> None:
    app = Sanic("powerbot_integration_api_test")
    app.blueprint(build_blueprint(), url_prefix=PREFIX)
    app.run(host="127.0.0.1", port=port, access_log=False, motd=False)


if __name__ == "__main__":
    main(int(sys.argv[1]))
