"""Big bodies are refused before they are read (security fault 7: five parallel 90 MB unsigned POSTs
used to raise the Rasa server's memory by 600 MB before any signature was checked)."""

from __future__ import annotations

import socket

import pytest

from bot.startup import RASA_SERVER_MAX_REQUEST_BYTES

pytestmark = pytest.mark.rasa


def _post_head(url: str, path: str, declared: int, sent: bytes) -> str:
    """Declare a body of ``declared`` bytes, send only ``sent``, and read what the server answers."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=15) as conn:
        conn.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/xml\r\n"
                     f"Content-Length: {declared}\r\n\r\n".encode() + sent)
        return conn.recv(4096).decode(errors="replace")


@pytest.mark.parametrize("path", ["/webhooks/wechat/webhook", "/webhooks/sms/webhook", "/console/login",
                                  "/webhooks/rest/webhook"])
def test_a_90_mb_body_gets_413_while_almost_all_of_it_is_still_unsent(bot, path):
    reply = _post_head(bot.url, path, 90 * 1024 * 1024, b"<xml>" + b" " * 65536)
    assert reply.startswith("HTTP/1.1 413"), reply[:200]


def test_a_body_just_over_the_limit_is_refused_and_one_within_it_is_read(bot):
    assert _post_head(bot.url, "/webhooks/wechat/webhook", RASA_SERVER_MAX_REQUEST_BYTES + 1, b"<xml>").startswith(
        "HTTP/1.1 413")
    within = _post_head(bot.url, "/webhooks/wechat/webhook?signature=x&timestamp=1&nonce=1", 6, b"<xml/>")
    assert within.startswith("HTTP/1.1 403")  # read, then refused for its signature
