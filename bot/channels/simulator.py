"""The WeChat simulator at ``/simulator/``: how a person tries the bot without a WeChat account.

A phone-sized chat page (static files in ``simulator_static/``, no external assets) whose backend does
what WeChat's servers do: it builds the XML of a text, location, image or voice message, a menu click
or a subscription, signs it with the server token (encrypts it in safe mode) — the token never leaves the
server — and posts it to the real webhook over HTTP. The page then shows what the customer would see:
the conversation's transcript — their messages, and the bot's and agents' answers, passive and
asynchronous alike (the latter reach nobody else when no WeChat API is configured) — and the demo SMS
outbox, where verification codes land.

Only simulator openids (``sim-…``) can be used, so the page cannot speak for a real customer. It is off
unless ``SIMULATOR_ENABLED`` is true; never enable it on a public server.
"""

from __future__ import annotations

import logging
import secrets
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional

import aiohttp
import xmltodict
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import messages, startup
from bot.channels.common import in_thread
from bot.channels.wechat import wechat_keys
from bot.channels.wechat_menu import current_menu
from bot.channels.wechat_protocol import Keys, sign
from bot.clock import fmt_local
from bot.config import get_settings
from bot.db import session_scope
from bot.domain import notices, transcript
from bot.domain.pii import mask_phone
from bot.messaging import outbox
from bot.messaging.deliver import SIMULATOR_OPENID

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "simulator_static"
STATIC_FILES = {
    "simulator.css": "text/css; charset=utf-8",
    "simulator.js": "application/javascript; charset=utf-8",
    "sample.svg": "image/svg+xml",
}
OPENID = SIMULATOR_OPENID
ACCOUNT_ID = "gh_simulator"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def build_message(openid: str, kind: str, payload: Dict[str, Any], now: Optional[int] = None) -> str:
    """The XML WeChat would post for what the person did on the page (``ValueError`` if unknown)."""
    fields: Dict[str, Any] = {"ToUserName": ACCOUNT_ID, "FromUserName": openid,
                              "CreateTime": now or int(time.time())}
    msg_id = {"MsgId": secrets.randbits(62)}
    if kind == "text":
        fields.update(MsgType="text", Content=str(payload.get("text") or "")[:2000], **msg_id)
    elif kind == "location":
        fields.update(MsgType="location", Location_X=float(payload["latitude"]), Location_Y=float(payload["longitude"]),
                      Scale=15, Label=str(payload.get("label") or "")[:200], **msg_id)
    elif kind == "image":
        fields.update(MsgType="image", PicUrl=str(payload.get("pic_url") or ""),
                      MediaId=f"sim-media-{secrets.token_hex(8)}", **msg_id)
    elif kind == "voice":
        fields.update(MsgType="voice", MediaId=f"sim-media-{secrets.token_hex(8)}", Format="amr",
                      Recognition=str(payload.get("recognition") or "")[:500], **msg_id)
    elif kind == "click":
        fields.update(MsgType="event", Event="CLICK", EventKey=str(payload.get("key") or "")[:128])
    elif kind == "view":
        fields.update(MsgType="event", Event="VIEW", EventKey=str(payload.get("url") or "")[:500])
    elif kind == "subscribe":
        scene = str(payload.get("scene") or "")
        fields.update(MsgType="event", Event="subscribe", EventKey=f"qrscene_{scene}" if scene else "")
    elif kind == "unsubscribe":
        fields.update(MsgType="event", Event="unsubscribe")
    else:
        raise ValueError(f"unknown message kind {kind!r}")
    return xmltodict.unparse({"xml": fields}, full_document=False)


def signed_request(keys: Keys, xml: str) -> tuple[Dict[str, str], str]:
    """Query parameters and body of WeChat's POST carrying ``xml`` (encrypted in safe mode)."""
    timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**9))
    params = {"timestamp": timestamp, "nonce": nonce, "signature": sign(keys.token, timestamp, nonce)}
    if not keys.safe_mode:
        return params, xml
    envelope = keys.crypto().encrypt_message(xml, nonce, timestamp)
    params.update(encrypt_type="aes", msg_signature=xmltodict.parse(envelope)["xml"]["MsgSignature"])
    return params, envelope


def read_reply(keys: Keys, body: str) -> Optional[str]:
    """The text of a passive reply (decrypted in safe mode); None for ``success``/empty."""
    body = body.strip()
    if not body.startswith("<"):
        return None
    data = xmltodict.parse(body)["xml"]
    if "Encrypt" in data:
        xml = keys.crypto().decrypt_message(body, data["MsgSignature"], data["TimeStamp"], data["Nonce"])
        data = xmltodict.parse(xml)["xml"]
    return data.get("Content")


def _updates(openid: str, after: int, sms_after: int) -> Dict[str, Any]:
    with session_scope() as s:
        entries = transcript.since(s, f"wechat:{openid}", after_id=after, limit=200)
        sms = outbox.demo_outbox(s, limit=20, after_id=sms_after)
        return {
            "messages": [{"id": e.id, "from": "customer" if e.direction == "in" else
                          ("agent" if e.author.startswith("agent") else
                           "notice" if e.author == notices.TRANSCRIPT_AUTHOR else "bot"),
                          "label": messages.SIMULATOR_NOTICE_LABEL if e.author == notices.TRANSCRIPT_AUTHOR else "",
                          "text": e.text, "at": fmt_local(e.created_at, with_date=False)} for e in entries],
            "cursor": max([after] + [e.id for e in entries]),
            "sms": [{"id": m.id, "to": mask_phone(m.recipient), "body": m.body,
                     "at": fmt_local(m.created_at, with_date=False)} for m in sms],
            "sms_cursor": max([sms_after] + [m.id for m in sms]),
        }


def _webhook_url(request: Request) -> str:
    """The webhook of this very server, at the local address the browser's request came in on."""
    sockname = request.conn_info.sockname if request.conn_info else None
    host, port = (sockname[0], sockname[1]) if isinstance(sockname, tuple) else ("127.0.0.1", 5005)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/webhooks/wechat/webhook"


class SimulatorInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "simulator"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        startup.start_rasa_server()  # the Rasa server's earliest hook of ours (idempotent)
        return cls()

    def url_prefix(self) -> str:
        return "/simulator"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("powerbot_simulator", __name__)

        def enabled() -> bool:
            return get_settings().simulator_enabled

        def not_found() -> HTTPResponse:
            return response.text("not found", status=404)

        @bp.route("/", methods=["GET"])
        async def page(request: Request) -> HTTPResponse:
            if not enabled():
                return not_found()
            html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
            return response.html(html, headers=SECURITY_HEADERS)

        @bp.route("/static/<name>", methods=["GET"])
        async def static(request: Request, name: str) -> HTTPResponse:
            if not enabled() or name not in STATIC_FILES:
                return not_found()
            body = (STATIC_DIR / name).read_bytes()
            return response.raw(body, content_type=STATIC_FILES[name], headers=SECURITY_HEADERS)

        @bp.route("/api/menu", methods=["GET"])
        async def menu(request: Request) -> HTTPResponse:
            if not enabled():
                return not_found()
            return response.json({"menu": current_menu().to_simulator()})

        @bp.route("/api/send", methods=["POST"])
        async def send(request: Request) -> HTTPResponse:
            if not enabled():
                return not_found()
            body = request.json if isinstance(request.json, dict) else {}
            openid = str(body.get("openid") or "")
            if not OPENID.match(openid):
                return response.json({"error": "openid must look like sim-xxxxxx"}, status=400)
            if body.get("kind") == "image" and not body.get("pic_url"):
                body["pic_url"] = f"{request.scheme}://{request.host}/simulator/static/sample.svg"
            try:
                xml = build_message(openid, str(body.get("kind") or ""), body)
                keys = wechat_keys()
            except (ValueError, KeyError, TypeError) as exc:
                return response.json({"error": str(exc)}, status=400)
            params, payload = signed_request(keys, xml)
            started = time.monotonic()
            try:
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
                    async with http.post(_webhook_url(request), params=params, data=payload.encode(),
                                         headers={"Content-Type": "text/xml"}) as resp:
                        status, text = resp.status, await resp.text()
            except (aiohttp.ClientError, TimeoutError) as exc:
                logger.warning("simulator could not reach the webhook: %s", type(exc).__name__)
                return response.json({"error": "webhook unreachable"}, status=502)
            reply = read_reply(keys, text) if status == 200 else None
            return response.json({"status": status, "seconds": round(time.monotonic() - started, 3),
                                  "passive": reply is not None})

        @bp.route("/api/updates", methods=["GET"])
        async def updates(request: Request) -> HTTPResponse:
            if not enabled():
                return not_found()
            openid = request.args.get("openid") or ""
            if not OPENID.match(openid):
                return response.json({"error": "bad openid"}, status=400)
            try:
                after = int(request.args.get("after") or 0)
                sms_after = int(request.args.get("sms_after") or 0)
            except ValueError:
                return response.json({"error": "bad cursor"}, status=400)
            return response.json(await in_thread(_updates, openid, after, sms_after))

        return bp


__all__: List[str] = ["SimulatorInput", "build_message", "signed_request", "read_reply"]
