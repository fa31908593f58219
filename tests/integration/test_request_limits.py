"""Big bodies are refused before they are read (security fault 7: five parallel 90 MB unsigned POSTs
used to raise the Rasa server's memory by 600 MB before any signature was checked)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Iterator

import pytest

from bot.config import ROOT
from bot.startup import RASA_SERVER_MAX_REQUEST_BYTES
from tests.eventually import eventually
from tests.harness import free_port

# Our operational channel (which sets the limit) and the REST channel on Sanic, mounted as Rasa mounts them.
SERVE_OPS = """
import sys
from sanic import Sanic
from bot.channels.ops import OpsInput
from bot.channels.rest import RestInput
from bot.console.channel import PREFIX, ConsoleInput

app = Sanic("ops_probe")
app.blueprint(OpsInput().blueprint(lambda message: None), url_prefix="/")
app.blueprint(RestInput().blueprint(lambda message: None), url_prefix="/webhooks/rest")
app.blueprint(ConsoleInput().blueprint(lambda message: None), url_prefix=PREFIX)
app.run("127.0.0.1", int(sys.argv[1]), workers=1, access_log=False)
"""


@pytest.fixture(scope="module")
def ops_server(tmp_path_factory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("ops") / "ops.log"
    proc = subprocess.Popen([sys.executable, "-c", SERVE_OPS, str(port)], cwd=ROOT, env={**os.environ, "REST_CHANNEL_ENABLED": "true"},
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        try:
            with urllib.request.urlopen(url + "/health", timeout=5) as resp:
                return resp.status == 200
        except OSError:
            return False

    try:
        eventually(up, timeout=300, what="the ops channel on Sanic")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _post_head(url: str, path: str, declared: int, sent: bytes) -> str:
    """Declare a body of ``declared`` bytes, send only ``sent``, and read what the server answers."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=15) as conn:
        conn.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/xml\r\n"
                     f"Content-Length: {declared}\r\n\r\n".encode() + sent)
        return conn.recv(4096).decode(errors="replace")


def test_the_server_our_channels_run_on_refuses_a_body_over_the_limit_unread(ops_server):
    path = "/webhooks/rest/webhook"
    assert _post_head(ops_server, path, 90 * 1024 * 1024, b" " * 65536).startswith("HTTP/1.1 413")
    assert _post_head(ops_server, path, RASA_SERVER_MAX_REQUEST_BYTES + 1, b" ").startswith("HTTP/1.1 413")
    assert not _post_head(ops_server, path, 2, b"{}").startswith("HTTP/1.1 413")  # read, then the channel answers


@pytest.mark.parametrize("folder", ["/console/static/", "/console/static/vendor/", "/console/static/screens"])
def test_a_folder_of_the_consoles_static_files_is_404_not_500(ops_server, folder):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(ops_server + folder, timeout=15)
    assert refused.value.code == 404


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"[]", b"null", b'{"sender": 1, "message": "x"}'])
def test_a_malformed_rest_body_gets_a_json_400(ops_server, body):
    request = urllib.request.Request(ops_server + "/webhooks/rest/webhook", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=15)
    assert refused.value.code == 400
    assert refused.value.headers.get_content_type() == "application/json"
    assert "sender" in json.loads(refused.value.read())["error"]


@pytest.mark.rasa
@pytest.mark.parametrize("path", ["/webhooks/wechat/webhook", "/webhooks/sms/webhook", "/console/login",
                                  "/webhooks/rest/webhook"])
def test_a_90_mb_body_gets_413_while_almost_all_of_it_is_still_unsent(bot, path):
    reply = _post_head(bot.url, path, 90 * 1024 * 1024, b"<xml>" + b" " * 65536)
    assert reply.startswith("HTTP/1.1 413"), reply[:200]


@pytest.mark.rasa
def test_a_body_just_over_the_limit_is_refused_and_one_within_it_is_read(bot):
    assert _post_head(bot.url, "/webhooks/wechat/webhook", RASA_SERVER_MAX_REQUEST_BYTES + 1, b"<xml>").startswith(
        "HTTP/1.1 413")
    within = _post_head(bot.url, "/webhooks/wechat/webhook?signature=x&timestamp=1&nonce=1", 6, b"<xml/>")
    assert within.startswith("HTTP/1.1 403")  # read, then refused for its signature
