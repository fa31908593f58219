"""WeChat's callback protocol, without HTTP framework or Rasa: signatures, safe-mode envelopes, parsing a
message into what the bot should do with it, and rendering the passive reply.

Plain mode signs only ``token, timestamp, nonce`` — the body is not covered — so a configured
``WECHAT_AES_KEY`` makes safe mode mandatory: its ``msg_signature`` also covers the encrypted body.
Timestamps older (or newer) than ``WECHAT_SIGNATURE_MAX_AGE_S`` are refused so a captured request cannot
be replayed later. wechatpy does the parsing, the reply XML and the AES work; the checks around them
(constant-time comparison, freshness, size, required fields) are ours.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

import xmltodict
from wechatpy import parse_message
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.events import (
    ClickEvent,
    ScanEvent,
    SubscribeEvent,
    SubscribeScanEvent,
    TemplateSendJobFinishEvent,
    UnsubscribeEvent,
)
from wechatpy.messages import ImageMessage, LocationMessage, TextMessage, VoiceMessage
from wechatpy.replies import TextReply

from bot import messages
from bot.channels.common import customer_text, internal_message, personal_data_kind, rasa_text
from bot.channels.wechat_menu import Menu

#: Largest request body accepted (WeChat's messages are a few KB at most).
MAX_BODY_BYTES = 64 * 1024
#: One text reply or customer-service text message must stay within WeChat's 2048-byte limit.
MAX_REPLY_BYTES = 2000
#: The body WeChat takes as "received, no reply" (it then stops retrying).
SUCCESS = "success"

_OPENID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
#: Longest value of one field (WeChat's texts are at most 2048 bytes; nothing else comes near).
MAX_FIELD_CHARS = 4096
#: The fields WeChat nests other fields in (menu events: a scanned code, sent pictures, a chosen place).
_CONTAINERS = frozenset({"ScanCodeInfo", "SendPicsInfo", "PicList", "item", "SendLocationInfo"})
#: Fields that are numbers in WeChat's protocol (wechatpy converts them with int() when read).
_NUMBERS = {"CreateTime": 12, "MsgId": 20, "MsgID": 20}
_DIGITS = re.compile(r"^[0-9]+$")


class Refused(Exception):
    """Authentication failed (HTTP 403): nothing of the request may reach the bot."""


class BadRequest(Exception):
    """Authentic but not understandable (HTTP 400)."""


def sign(*parts: str) -> str:
    """WeChat's signature: SHA-1 over the sorted, concatenated parts."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("ascii", "replace"), given.encode("ascii", "replace"))


@dataclass(frozen=True)
class Keys:
    """What verifies and decrypts requests: the server token, and the AES key + appid in safe mode."""

    token: str
    aes_key: Optional[str] = None
    appid: Optional[str] = None
    max_age_s: float = 300.0

    @property
    def safe_mode(self) -> bool:
        return bool(self.aes_key)

    def crypto(self) -> WeChatCrypto:
        if not self.aes_key or not self.appid:
            raise Refused("safe mode needs WECHAT_AES_KEY and WECHAT_APPID")
        return WeChatCrypto(self.token, self.aes_key, self.appid)


def _check_fresh(keys: Keys, args: Mapping[str, str], now: Optional[float]) -> str:
    timestamp = args.get("timestamp") or ""
    if not timestamp.isdigit() or not args.get("nonce"):
        raise Refused("timestamp or nonce missing")
    if keys.max_age_s > 0 and abs((now if now is not None else time.time()) - int(timestamp)) > keys.max_age_s:
        raise Refused("stale timestamp")
    return timestamp


def verify_url(keys: Keys, args: Mapping[str, str], now: Optional[float] = None) -> str:
    """URL verification (GET): the ``echostr`` to send back, or :class:`Refused`.

    Official Accounts sign ``token, timestamp, nonce`` and send ``echostr`` in clear; a safe-mode
    verification with ``msg_signature`` (as WeCom does) signs the encrypted ``echostr`` too and expects it
    decrypted.
    """
    timestamp = _check_fresh(keys, args, now)
    nonce, echostr = args["nonce"], args.get("echostr") or ""
    if not echostr:
        raise Refused("echostr missing")
    if args.get("msg_signature"):
        if not keys.safe_mode:
            raise Refused("msg_signature without safe mode")
        if not _same(sign(keys.token, timestamp, nonce, echostr), args["msg_signature"]):
            raise Refused("bad msg_signature")
        return _decrypt(keys, echostr)
    if not _same(sign(keys.token, timestamp, nonce), args.get("signature") or ""):
        raise Refused("bad signature")
    return echostr


def _decrypt(keys: Keys, encrypted: str) -> str:
    crypto = keys.crypto()
    try:
        return PrpCrypto(crypto.key).decrypt(encrypted, keys.appid)
    except Exception as exc:  # wrong appid, bad padding, bad base64: not a message for us
        raise Refused(f"cannot decrypt: {type(exc).__name__}") from exc


def _xml_dict(body: bytes | str) -> Dict[str, Any]:
    try:
        data = xmltodict.parse(body, disable_entities=True)
    except Exception as exc:
        raise BadRequest(f"malformed XML: {type(exc).__name__}") from exc
    root = data.get("xml") if isinstance(data, dict) else None
    if not isinstance(root, dict):
        raise BadRequest("no <xml> root")
    return root


@dataclass(frozen=True)
class Envelope:
    """An authenticated request: the message XML, and how to answer (safe mode encrypts the reply).

    In plain mode the signature does not cover the body, so ``replay_key`` (the signed timestamp and
    nonce) and ``body_hash`` are set: the channel remembers the first body seen with a signature for
    :func:`replay_ttl_s` and refuses the signature with any other body (WeChat's retries repeat both)."""

    xml: str
    safe: bool
    nonce: str
    replay_key: Optional[str] = None
    body_hash: str = ""


def replay_ttl_s(keys: Keys) -> int:
    """How long a plain-mode signature stays usable: its timestamp may be up to ``max_age_s`` behind or
    ahead of our clock, so twice that (ten minutes when freshness is not checked)."""
    return int(2 * keys.max_age_s) + 1 if keys.max_age_s > 0 else 600


def open_envelope(keys: Keys, args: Mapping[str, str], body: bytes, now: Optional[float] = None) -> Envelope:
    """Authenticate a POST and return the message XML it carries.

    Raises :class:`Refused` (403) for a missing, wrong or stale signature — and for a plain-mode request
    when safe mode is configured — and :class:`BadRequest` (400) for a body that is not a WeChat message.
    """
    timestamp = _check_fresh(keys, args, now)
    nonce = args["nonce"]
    encrypted = (args.get("encrypt_type") or "raw").lower() == "aes"
    if keys.safe_mode:
        if not encrypted or not args.get("msg_signature"):
            raise Refused("safe mode: encrypted request with msg_signature required")
    elif not _same(sign(keys.token, timestamp, nonce), args.get("signature") or ""):
        raise Refused("bad signature")
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest("body too large")
    if not keys.safe_mode:
        # plain (or compatible) mode: the plain fields are the message
        return Envelope(_text(body), safe=False, nonce=nonce, replay_key=f"{timestamp}:{nonce}",
                        body_hash=hashlib.sha256(body).hexdigest())
    outer = _xml_dict(body)
    encrypt = outer.get("Encrypt")
    if not isinstance(encrypt, str) or not encrypt:
        raise BadRequest("no <Encrypt> in a safe-mode request")
    if not _same(sign(keys.token, timestamp, nonce, encrypt), args.get("msg_signature") or ""):
        raise Refused("bad msg_signature")
    return Envelope(_decrypt(keys, encrypt), safe=True, nonce=nonce)


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("body is not UTF-8") from exc


@dataclass(frozen=True)
class Inbound:
    """One WeChat message or event, and what the bot does with it."""

    openid: str
    account: str  # ToUserName: our Official Account's id
    msg_type: str  # text, voice, location, image, event, ...
    event: Optional[str]
    create_time: int
    dedup_key: str  # same for WeChat's retries of this message
    message_id: str  # Rasa's message id (the dialogue's idempotency key)
    rasa_text: Optional[str] = None  # customer text or a channel-generated /intent; None: no Rasa turn
    channel_reply: Optional[str] = None  # answered by the channel itself
    personal_data: Optional[str] = None  # "view"/"delete": a personal-data request the channel files and answers
    transcript_text: Optional[str] = None  # how the message appears in the transcript
    opens_window: bool = True  # restarts WeChat's 48-hour customer-service window
    subscribe_scene: Optional[str] = None
    unsubscribe: bool = False
    metadata: Dict[str, Any] = field(default_factory=dict)

    @property
    def sender_id(self) -> str:
        return f"wechat:{self.openid}"


def _label(which: str, **values: str) -> str:
    return messages.WECHAT_LABELS[which].format(**values)


def _check_fields(fields: Mapping[str, Any], depth: int = 0) -> None:
    """Every field is text of at most ``MAX_FIELD_CHARS`` (or, for WeChat's few containers, fields that
    are): an element nested where text belongs, a repeated element or an attribute is not a WeChat
    message (:class:`BadRequest`)."""
    for name, value in fields.items():
        if value is None or isinstance(value, str):
            if value is not None and len(value) > MAX_FIELD_CHARS:
                raise BadRequest(f"{name} too long")
            digits = _NUMBERS.get(name)
            if digits and value is not None and not (_DIGITS.match(value) and len(value) <= digits):
                raise BadRequest(f"{name} is not a number")
            continue
        if name in _CONTAINERS and depth < 3:
            for item in value if isinstance(value, list) else [value]:
                if not isinstance(item, dict):
                    raise BadRequest(f"{name} malformed")
                _check_fields(item, depth + 1)
            continue
        raise BadRequest(f"{name} is not text")


def _coordinates(latitude: Any, longitude: Any) -> tuple[float, float]:
    """A location's (latitude, longitude) in degrees; :class:`BadRequest` unless finite and on Earth."""
    try:
        lat, lng = float(latitude), float(longitude)
    except (TypeError, ValueError) as exc:
        raise BadRequest("location without coordinates") from exc
    if not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180):
        raise BadRequest("location out of range")
    return lat, lng


def parse_inbound(xml: str, menu: Menu) -> Inbound:
    """Understand one decrypted WeChat message (:class:`BadRequest` when it is not one).

    wechatpy reads the fields (it lower-cases MsgType and Event and turns a ``qrscene_`` subscription into
    ``subscribe_scan`` with the scene as ``scene_id``); the checks on who sent it and when, and that every
    field is bounded text, are ours.
    """
    raw = _xml_dict(xml)
    _check_fields(raw)
    openid, account, msg_type = raw.get("FromUserName"), raw.get("ToUserName") or "", raw.get("MsgType")
    if not isinstance(openid, str) or not _OPENID.match(openid):
        raise BadRequest("FromUserName missing or malformed")
    if not isinstance(msg_type, str) or not msg_type.strip():
        raise BadRequest("MsgType missing")
    create_time = str(raw.get("CreateTime") or "")
    if not create_time.isdigit():
        raise BadRequest("CreateTime missing or malformed")
    try:
        message = parse_message(xml)
    except Exception as exc:
        raise BadRequest(f"unreadable message: {type(exc).__name__}") from exc
    msg_type = msg_type.strip().lower()
    event = getattr(message, "event", None) if msg_type == "event" else None
    msg_id = str(raw.get("MsgId") or "").strip()
    if msg_type != "event" and msg_id.isdigit():
        # MsgId is unique per sender, not per Official Account: two customers' messages may share one
        dedup_key = f"{account}:msg:{openid}:{msg_id}"
        message_id = f"wx-{msg_id}"
    else:
        # events carry no MsgId (a template receipt names its message as MsgID)
        dedup_key = f"{account}:ev:{openid}:{create_time}:{str(raw.get('Event') or msg_type).lower()}"
        if str(raw.get("MsgID") or "").isdigit():
            dedup_key += f":{raw['MsgID']}"
        message_id = "wx-ev-" + hashlib.sha256(dedup_key.encode()).hexdigest()[:20]
    base: Dict[str, Any] = dict(openid=openid, account=str(account), msg_type=msg_type, event=event,
                                create_time=int(create_time), dedup_key=dedup_key, message_id=message_id)
    meta: Dict[str, Any] = {"channel": "wechat", "msg_type": msg_type, "create_time": int(create_time)}
    if msg_id:
        meta["msg_id"] = msg_id

    if isinstance(message, TextMessage):
        content = message.content or ""
        text = customer_text(content)
        if not text:
            return Inbound(**base, channel_reply=messages.WECHAT_EMPTY_TEXT, transcript_text=content[:1000] or None,
                           metadata=meta)
        if personal_data_kind(text):
            return Inbound(**base, personal_data=personal_data_kind(text), transcript_text=content[:1000],
                           metadata=meta)
        return Inbound(**base, rasa_text=rasa_text(text), transcript_text=content[:1000], metadata=meta)

    if isinstance(message, VoiceMessage):
        meta["media_id"] = message.media_id or ""
        text = customer_text(message.recognition or "")
        if not text:
            return Inbound(**base, rasa_text=internal_message("voice_unrecognized"),
                           transcript_text=_label("voice_unrecognized"), metadata=meta)
        meta["recognition"] = True
        if personal_data_kind(text):
            return Inbound(**base, personal_data=personal_data_kind(text), transcript_text=_label("voice", text=text),
                           metadata=meta)
        return Inbound(**base, rasa_text=text, transcript_text=_label("voice", text=text), metadata=meta)

    if isinstance(message, LocationMessage):
        latitude, longitude = _coordinates(message.location_x, message.location_y)
        label = customer_text(message.label or "")[:200]
        scale = (message.scale or "").strip()
        if scale and not (_DIGITS.match(scale) and len(scale) <= 4):
            raise BadRequest("Scale is not a zoom level")
        meta["location"] = {"latitude": latitude, "longitude": longitude, "scale": scale, "label": label}
        address = label or f"{latitude:.6f},{longitude:.6f}"
        return Inbound(**base, rasa_text=internal_message("share_location", {"address": address}),
                       transcript_text=_label("location", label=address), metadata=meta)

    if isinstance(message, ImageMessage):
        pic_url, media_id = message.image or "", message.media_id or ""
        meta.update(pic_url=pic_url, media_id=media_id)
        return Inbound(**base, rasa_text=internal_message("share_image", {"media": pic_url or media_id}),
                       transcript_text=_label("image"), metadata=meta)

    if msg_type == "event":
        return _event(base, meta, message, str(raw.get("Event") or "").lower(), menu)

    # video, shortvideo, link, file, mini-program cards, types WeChat adds later: a polite answer
    return Inbound(**base, rasa_text=internal_message("unsupported_message"),
                   transcript_text=_label("unsupported", kind=msg_type[:20]), metadata=meta)


def _event(base: Dict[str, Any], meta: Dict[str, Any], message: Any, event: str, menu: Menu) -> Inbound:
    meta["event"] = event
    if isinstance(message, (SubscribeEvent, SubscribeScanEvent)):
        scene = (message.scene_id or "")[:64] if isinstance(message, SubscribeScanEvent) else ""
        if scene:
            meta["scene"] = scene
        return Inbound(**base, rasa_text=internal_message("subscribe"), transcript_text=_label("subscribe"),
                       subscribe_scene=scene or None, metadata=meta)
    if isinstance(message, UnsubscribeEvent):
        return Inbound(**base, transcript_text=_label("unsubscribe"), opens_window=False, unsubscribe=True,
                       metadata=meta)
    if isinstance(message, ClickEvent):
        key = (message.key or "")[:128]
        button = menu.by_key(key)
        meta["menu_key"] = key
        if button is None or not button.intent:
            return Inbound(**base, channel_reply=messages.WECHAT_MENU_UNAVAILABLE,
                           transcript_text=_label("click", name=key[:40]), metadata=meta)
        return Inbound(**base, rasa_text=internal_message(button.intent),
                       transcript_text=_label("click", name=button.name), metadata=meta)
    if isinstance(message, TemplateSendJobFinishEvent):
        # WeChat's receipt for a template message we sent: its outcome belongs in outbound_messages
        meta["template_msgid"] = str(message.id or "")
        meta["template_status"] = str(message.status or "")[:100]
    # SCAN by a follower (a scene QR code), VIEW (a menu link: the customer is reading the page), LOCATION
    # reports, template-send receipts and the rest are notices, not messages: WeChat gets "success" and
    # the customer is not sent anything unasked. Only a scan reopens the customer-service window.
    return Inbound(**base, opens_window=isinstance(message, ScanEvent), metadata=meta)


def combine(texts: List[str], limit: int = MAX_REPLY_BYTES) -> List[str]:
    """The bot's messages as few WeChat text messages as possible, each within ``limit`` bytes.

    A passive reply can carry one message only, and the customer-service API allows a handful of
    messages per customer message, so consecutive bot messages are joined by a blank line; a message too
    long on its own is split at line ends (or, failing that, between characters).
    """
    pieces: List[str] = []
    for text in texts:
        text = text.strip()
        if not text:
            continue
        if len(text.encode()) <= limit:
            pieces.append(text)
            continue
        current = ""
        for line in text.split("\n"):
            while len(line.encode()) > limit:
                cut = _cut(line, limit)
                if current:
                    pieces.append(current)
                    current = ""
                pieces.append(line[:cut])
                line = line[cut:]
            candidate = f"{current}\n{line}" if current else line
            if len(candidate.encode()) > limit:
                pieces.append(current)
                candidate = line
            current = candidate
        if current:
            pieces.append(current)
    chunks: List[str] = []
    for piece in pieces:
        if chunks and len(f"{chunks[-1]}\n\n{piece}".encode()) <= limit:
            chunks[-1] = f"{chunks[-1]}\n\n{piece}"
        else:
            chunks.append(piece)
    return chunks


def _cut(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-8 bytes."""
    size = 0
    for index, ch in enumerate(text):
        size += len(ch.encode())
        if size > limit:
            return max(1, index)
    return len(text)


def render_reply(keys: Keys, envelope: Envelope, inbound: Inbound, text: str, now: Optional[float] = None) -> str:
    """The passive reply XML for ``text`` (encrypted and signed in safe mode)."""
    moment = int(now if now is not None else time.time())
    xml = TextReply(source=inbound.account, target=inbound.openid, content=text, time=moment).render()
    if not envelope.safe:
        return xml
    return keys.crypto().encrypt_message(xml, envelope.nonce, str(moment))
