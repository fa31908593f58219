"""The agent console at ``/console/``: pages and JSON endpoints, mounted into the Rasa server like a
channel (``credentials.yml``: ``bot.console.channel.ConsoleInput: {}``), so it shares the process's
tracker store, lock store and outbound senders.

Every endpoint goes through :func:`endpoint`: it finds the server-side session behind the cookie,
checks the CSRF token on state-changing requests and the caller's permission, and maps refusals to
HTTP answers (401 signed out, 403 not allowed, 404, 409 taken). The work itself is in
:mod:`bot.console.service` (records) and :mod:`bot.console.tracker` (Rasa).
"""

from __future__ import annotations

import functools
import html
import logging
import secrets
import string
from datetime import timedelta
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Tuple

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import messages, startup
from bot.channels.common import in_thread
from bot.config import get_settings
from bot.console import backoffice_routes, canned, labels, service, sessions, tracker
from bot.console.permissions import ConsoleError, Principal
from bot.console.throttle import Throttle, make_throttle
from bot.db import session_scope
from bot.messaging import deliver

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "powerbot_console"
LOGIN_COOKIE = "powerbot_console_login"
CSRF_HEADER = "X-CSRF-Token"
PREFIX = "/console"

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
    ),
}

Handler = Callable[..., Awaitable[HTTPResponse]]


def lifetimes() -> sessions.Lifetimes:
    settings = get_settings()
    return sessions.Lifetimes(timedelta(minutes=settings.console_session_idle_minutes),
                              timedelta(hours=settings.console_session_max_hours))


def _unit(fn: Callable[..., Any], *args: Any) -> Any:
    """One database unit of work around a service function."""
    with session_scope() as s:
        return fn(s, *args)


def _authenticate(token: str | None, csrf: str | None, write: bool) -> Tuple[Principal | None, str]:
    """(principal, csrf token) of a live session; (None, reason) otherwise."""
    with session_scope() as s:
        row = sessions.load(s, token, lifetimes())
        if row is None:
            return None, "signed_out"
        principal = Principal.of(row.staff)
        if write and not sessions.csrf_ok(row, csrf):
            return principal, "csrf"
        return principal, row.csrf_token


def _client_ip(request: Request) -> str:
    # remote_addr is only filled from proxy headers Sanic is configured to trust; else the peer address
    return (request.remote_addr or request.ip or "unknown")[:64]


def _error(exc: ConsoleError) -> HTTPResponse:
    return response.json({"error": exc.code, "message": exc.message, **exc.info}, status=exc.status)


def _names_a_record(value: Any) -> bool:
    """Can a path parameter name a record? Ids are 1..MAX_RECORD_ID; names (ticket numbers, usernames)
    are short printable text (PostgreSQL refuses NUL characters outright)."""
    if isinstance(value, int):
        return service.record_id(value) is not None
    return isinstance(value, str) and 0 < len(value) <= 64 and value.isprintable()


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _body(request: Request) -> Dict[str, Any]:
    """The request's JSON object; ``{}`` for an empty body (actions that need no fields). Raises
    ``ConsoleError`` 400 ``bad_json`` for text that is not JSON or holds NUL, and ``body_not_object``
    for JSON that is not an object (``[]``, ``null``, a number, a string)."""
    if not (request.body or b"").strip():
        return {}
    try:
        data = request.json
    except Exception:
        raise ConsoleError(400, "bad_json") from None
    if _has_nul(data):  # no text field may hold NUL (PostgreSQL cannot store it)
        raise ConsoleError(400, "bad_json")
    if not isinstance(data, dict):
        raise ConsoleError(400, "body_not_object")
    return data


def endpoint(permission: str | None = None, write: bool = False) -> Callable[[Handler], Handler]:
    """Wrap a JSON endpoint: session, CSRF (for ``write``), permission, error mapping, denial audit."""

    def wrap(fn: Handler) -> Handler:
        @functools.wraps(fn)
        async def handler(request: Request, **kwargs: Any) -> HTTPResponse:
            principal: Principal | None = None
            try:
                csrf = request.headers.get(CSRF_HEADER)
                principal, state = await in_thread(
                    _authenticate, request.cookies.get(SESSION_COOKIE), csrf, write)
                if principal is None:
                    raise ConsoleError(401, "signed_out")
                if state == "csrf":
                    raise ConsoleError(403, "csrf")
                if permission:
                    principal.require(permission)
                if not all(_names_a_record(value) for value in kwargs.values()):
                    raise ConsoleError(404, "not_found")  # no record has such an id or name
                return await fn(request, principal, **kwargs)
            except ConsoleError as exc:
                if principal is not None and exc.status == 403:
                    try:
                        await in_thread(_unit, service.record_denied, principal,
                                        f"{request.method} {request.path}", exc.code)
                    except Exception:
                        logger.exception("could not audit a refused console request")
                return _error(exc)
            except tracker.BotNotReady:
                return _error(ConsoleError(503, "bot_not_ready"))

        return handler

    return wrap


def _template(name: str, **values: str) -> str:
    text = (HERE / "templates" / name).read_text(encoding="utf-8")
    return string.Template(text).substitute({k: html.escape(v, quote=True) for k, v in values.items()})


def _set_cookie(resp: HTTPResponse, name: str, value: str, path: str, max_age: int | None = None) -> None:
    resp.cookies[name] = value
    cookie = resp.cookies[name]
    cookie["path"] = path
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    if get_settings().console_cookie_secure:
        cookie["secure"] = True
    if max_age is not None:
        cookie["max-age"] = max_age


def _clear_cookie(resp: HTTPResponse, name: str, path: str) -> None:
    _set_cookie(resp, name, "", path, max_age=0)


async def _deliver(sender_id: str, text: str, purpose: str) -> deliver.Delivery:
    """Send through the customer's channel; a failure is reported to the agent, never raised."""
    try:
        return await deliver.send_to_conversation(sender_id, text, purpose=purpose)
    except Exception as exc:
        logger.exception("console message to %s not delivered", sender_id)
        return deliver.Delivery("none", "failed", type(exc).__name__)


async def _said(agent: Any, conv: service.Conversation, text: str, author: str) -> None:
    """Add the message to Rasa's history; it went out already, so a failure here is only logged."""
    try:
        await tracker.said(agent, conv.sender_id, text, author)
    except Exception:
        logger.exception("could not add a console message to the tracker of %s", conv.sender_id)


async def _notify(agent: Any, conv: service.Conversation, text: str) -> Dict[str, str]:
    delivery = await _deliver(conv.sender_id, text, "notice")
    await in_thread(_unit, service.record_notice, conv, text)
    await _said(agent, conv, text, "system")
    return {"channel": delivery.channel, "status": delivery.status}


class ConsoleInput(InputChannel):
    """Not a customer channel: the staff console, mounted at ``/console`` through Rasa's channel hook."""

    @classmethod
    def name(cls) -> str:
        return "console"

    @classmethod
    def from_credentials(cls, credentials: Dict[str, Any] | None) -> InputChannel:
        startup.start_rasa_server()  # the Rasa server's earliest hook of ours (idempotent)
        return cls()

    def url_prefix(self) -> str:
        return PREFIX  # absolute: Rasa joins it onto /webhooks/ and keeps ours

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        settings = get_settings()
        return build_blueprint(make_throttle(settings.redis_url, settings.console_login_ip_limit))


def build_blueprint(throttle: Throttle) -> Blueprint:
    bp = Blueprint("powerbot_console", __name__)
    bp.static("/static", str(HERE / "static"), name="console_static")

    @bp.exception(IsADirectoryError)
    async def no_directory_listing(request: Request, exc: Exception) -> HTTPResponse:
        return response.text("not found", status=404)  # /console/static/ names a folder, not a file

    @bp.middleware("response")
    async def security_headers(request: Request, resp: HTTPResponse) -> None:
        for name, value in SECURITY_HEADERS.items():
            resp.headers.setdefault(name, value)

    # ------------------------------------------------------------------------------ pages, sign-in

    @bp.route("/", methods=["GET"])
    async def app_page(request: Request) -> HTTPResponse:
        principal, csrf = await in_thread(_authenticate, request.cookies.get(SESSION_COOKIE), None, False)
        if principal is None:
            return response.redirect(f"{PREFIX}/login", status=303)
        return response.html(_template("app.html", csrf=csrf, title=messages.CONSOLE_UI["page_title"],
                                       loading=messages.CONSOLE_UI["loading"]))

    def login_page(error: str = "", status: int = 200) -> HTTPResponse:
        token = secrets.token_urlsafe(24)
        resp = response.html(_template("login.html", csrf=token, error=error), status=status)
        _set_cookie(resp, LOGIN_COOKIE, token, f"{PREFIX}/login", max_age=3600)
        return resp

    @bp.route("/login", methods=["GET"])
    async def login_form(request: Request) -> HTTPResponse:
        return login_page()

    @bp.route("/login", methods=["POST"])
    async def login(request: Request) -> HTTPResponse:
        form = request.form or {}
        presented, expected = form.get("csrf_token") or "", request.cookies.get(LOGIN_COOKIE) or ""
        if not expected or not secrets.compare_digest(presented.encode(), expected.encode()):
            return login_page(messages.CONSOLE_ERRORS["login_expired"], status=403)
        username = (form.get("username") or "").strip()[:40]
        if not username.isprintable():
            username = ""  # no username has control characters (and the database takes no NUL)
        password = (form.get("password") or "")[:200]
        result = await in_thread(_unit, service.sign_in, throttle, username, password, _client_ip(request),
                                 lifetimes())
        if result.retry_after:
            resp = login_page(result.problem, status=429)
            resp.headers["Retry-After"] = str(result.retry_after)
            return resp
        if result.token is None:
            return login_page(result.problem or messages.CONSOLE_ERRORS["login_failed"], status=401)
        resp = response.redirect(f"{PREFIX}/", status=303)
        _set_cookie(resp, SESSION_COOKIE, result.token, PREFIX)
        _clear_cookie(resp, LOGIN_COOKIE, f"{PREFIX}/login")
        return resp

    def sign_out(token: str | None, csrf: str) -> bool:
        with session_scope() as s:
            row = sessions.load(s, token, lifetimes())
            if row is None or not sessions.csrf_ok(row, csrf):
                return False
            sessions.revoke(s, token)
            return True

    @bp.route("/logout", methods=["POST"])
    async def logout(request: Request) -> HTTPResponse:
        form = request.form or {}
        csrf = request.headers.get(CSRF_HEADER) or form.get("csrf_token") or ""
        if not await in_thread(sign_out, request.cookies.get(SESSION_COOKIE), csrf):
            return _error(ConsoleError(403, "csrf"))
        resp = response.redirect(f"{PREFIX}/login", status=303)
        _clear_cookie(resp, SESSION_COOKIE, PREFIX)
        return resp

    # --------------------------------------------------------------------------------- read APIs

    @bp.route("/api/me", methods=["GET"])
    @endpoint()
    async def me(request: Request, p: Principal) -> HTTPResponse:
        return response.json({"username": p.username, "display_name": p.display_name, "role": p.role,
                              "permissions": sorted(p.permissions)})

    @bp.route("/api/labels", methods=["GET"])
    @endpoint()
    async def label_texts(request: Request, p: Principal) -> HTTPResponse:
        return response.json(labels.all_labels())

    @bp.route("/api/queue", methods=["GET"])
    @endpoint("queue.view")
    async def queue(request: Request, p: Principal) -> HTTPResponse:
        # an agent taking conversations automatically gets the next one routing gives them, as a take
        conv = await in_thread(_unit, service.auto_assign, p)
        assigned = None
        if conv is not None:
            agent = request.app.ctx.agent
            await tracker.pause(agent, conv.sender_id)
            await _notify(agent, conv, messages.CONSOLE_TAKEOVER)
            assigned = conv.handoff_id
        return response.json({**await in_thread(_unit, service.queue_view, p), "assigned": assigned})

    @bp.route("/api/me/routing", methods=["GET"])
    @endpoint("queue.view")
    async def my_routing(request: Request, p: Principal) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.my_routing, p))

    @bp.route("/api/me/routing", methods=["POST"])
    @endpoint("conversation.take", write=True)
    async def set_my_routing(request: Request, p: Principal) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.set_my_routing, p, _body(request)))

    @bp.route("/api/canned", methods=["GET"])
    @endpoint()
    async def canned_replies(request: Request, p: Principal) -> HTTPResponse:
        seed = await in_thread(canned.load, get_settings().console_canned_replies_file)
        return response.json(await in_thread(_unit, service.canned_list, p, seed))

    @bp.route("/api/canned", methods=["POST"])
    @endpoint("canned.manage", write=True)
    async def canned_add(request: Request, p: Principal) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.canned_save, p, None, _body(request)))

    @bp.route("/api/canned/<rid:int>", methods=["POST"])
    @endpoint("canned.manage", write=True)
    async def canned_edit(request: Request, p: Principal, rid: int) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.canned_save, p, rid, _body(request)))

    @bp.route("/api/canned/<rid:int>/delete", methods=["POST"])
    @endpoint("canned.manage", write=True)
    async def canned_delete(request: Request, p: Principal, rid: int) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.canned_delete, p, rid))

    @bp.route("/api/conversations/<hid:int>/canned/<rid:int>", methods=["GET"])
    @endpoint("conversation.reply")
    async def canned_fill(request: Request, p: Principal, hid: int, rid: int) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.canned_fill, p, hid, rid))

    @bp.route("/api/conversations/search", methods=["GET"])
    @endpoint("queue.view")
    async def search_conversations(request: Request, p: Principal) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.search_view, p, request.args.get("q", "")))

    @bp.route("/api/conversations/<hid:int>", methods=["GET"])
    @endpoint("queue.view")
    async def conversation(request: Request, p: Principal, hid: int) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.conversation_view, p, hid))

    @bp.route("/api/conversations/<hid:int>/transcript", methods=["GET"])
    @endpoint("queue.view")
    async def transcript(request: Request, p: Principal, hid: int) -> HTTPResponse:
        after = service.query_int(request.args.get("after"), 0)
        return response.json(await in_thread(_unit, service.transcript_since, p, hid, after))

    # ------------------------------------------------------------------------------- conversation

    @bp.route("/api/conversations/<hid:int>/take", methods=["POST"])
    @endpoint("conversation.take", write=True)
    async def take(request: Request, p: Principal, hid: int) -> HTTPResponse:
        force = bool(_body(request).get("force"))
        conv = await in_thread(_unit, service.take, p, hid, force)
        agent = request.app.ctx.agent
        # silence the bot before telling the customer; a failure leaves the agent owning the
        # conversation and the retry (a no-op take for its owner) pauses again
        await tracker.pause(agent, conv.sender_id)
        notice = await _notify(agent, conv, messages.CONSOLE_TAKEOVER) if conv.notify else None
        return response.json({"handoff_id": conv.handoff_id, "taken": True, "notice": notice})

    @bp.route("/api/conversations/<hid:int>/reply", methods=["POST"])
    @endpoint("conversation.reply", write=True)
    async def reply(request: Request, p: Principal, hid: int) -> HTTPResponse:
        text = service.clean_reply(_body(request).get("text"))
        conv = await in_thread(_unit, service.owned, p, hid, "conversation.reply")
        delivery = await _deliver(conv.sender_id, text, "agent")
        entry = await in_thread(_unit, service.record_reply, p, conv, text, delivery)
        await _said(request.app.ctx.agent, conv, text, service.author(p))
        return response.json({"entry": entry, "delivery": {
            "channel": delivery.channel, "status": delivery.status,
            "problem": labels.delivery_problem(delivery.channel, delivery.status)}})

    async def finish(request: Request, p: Principal, hid: int, kind: str) -> HTTPResponse:
        agent = request.app.ctx.agent
        conv = await in_thread(_unit, service.owned, p, hid, f"conversation.{kind}")
        # resume first: if Rasa fails, nothing has changed and the agent can simply try again
        await tracker.resume(agent, conv.sender_id)
        try:
            await in_thread(_unit, service.finish, p, hid, kind)
        except ConsoleError:
            if await in_thread(_unit, service.is_active, hid):
                await tracker.pause(agent, conv.sender_id)  # taken over meanwhile: it stays with the new owner
            raise
        text = messages.CONSOLE_HANDBACK if kind == "handback" else messages.CONSOLE_RATING_PROMPT
        return response.json({"handoff_id": hid, "status": "closed", "notice": await _notify(agent, conv, text)})

    @bp.route("/api/conversations/<hid:int>/handback", methods=["POST"])
    @endpoint("conversation.handback", write=True)
    async def handback(request: Request, p: Principal, hid: int) -> HTTPResponse:
        return await finish(request, p, hid, "handback")

    @bp.route("/api/conversations/<hid:int>/close", methods=["POST"])
    @endpoint("conversation.close", write=True)
    async def close(request: Request, p: Principal, hid: int) -> HTTPResponse:
        return await finish(request, p, hid, "close")

    @bp.route("/api/conversations/<hid:int>/tickets", methods=["POST"])
    @endpoint("ticket.create", write=True)
    async def create_ticket(request: Request, p: Principal, hid: int) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.create_ticket, p, hid, _body(request)), status=201)

    @bp.route("/api/conversations/<hid:int>/tickets/<ticket_no:str>/status", methods=["POST"])
    @endpoint("tickets.work", write=True)
    async def ticket_status(request: Request, p: Principal, hid: int, ticket_no: str) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.set_ticket_status, p, hid, ticket_no, _body(request)))

    @bp.route("/api/conversations/<hid:int>/tickets/<ticket_no:str>/description", methods=["POST"])
    @endpoint("ticket.update", write=True)
    async def ticket_description(request: Request, p: Principal, hid: int, ticket_no: str) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.correct_ticket_description, p, hid, ticket_no,
                                             _body(request)))

    @bp.route("/api/conversations/<hid:int>/notes", methods=["POST"])
    @endpoint("queue.view", write=True)
    async def add_note(request: Request, p: Principal, hid: int) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.add_note, p, hid, _body(request)), status=201)

    @bp.route("/api/agents", methods=["GET"])
    @endpoint("conversation.reply")
    async def agents(request: Request, p: Principal) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.agents_view, p))

    @bp.route("/api/conversations/<hid:int>/transfer", methods=["POST"])
    @endpoint("conversation.reply", write=True)
    async def transfer(request: Request, p: Principal, hid: int) -> HTTPResponse:
        # the bot stays paused: the conversation stays with people, only the person changes
        conv = await in_thread(_unit, service.transfer, p, hid, _body(request))
        return response.json({"handoff_id": conv.handoff_id, "transferred": True})

    @bp.route("/api/conversations/<hid:int>/reveal", methods=["POST"])
    @endpoint("pii.reveal", write=True)
    async def reveal(request: Request, p: Principal, hid: int) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.reveal, p, hid, _body(request)))

    # ------------------------------------------------------------------------------ audit, staff

    @bp.route("/api/audit", methods=["GET"])
    @endpoint("audit.view")
    async def audit_log(request: Request, p: Principal) -> HTTPResponse:
        args = {k: request.args.get(k) for k in ("before", "limit", "actor", "action")}
        if any(v is not None and (len(v) > 80 or not v.isprintable()) for v in args.values()):
            raise ConsoleError(400, "bad_query")
        return response.json(await in_thread(_unit, service.audit_view, p, args))

    @bp.route("/api/metrics", methods=["GET"])
    @endpoint("metrics.view")
    async def metrics(request: Request, p: Principal) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.metrics_view, p, {"days": request.args.get("days")}))

    # ------------------------------------------------------------------------------ supervision

    @bp.route("/api/wall", methods=["GET"])
    @endpoint("conversation.view_all")
    async def wall(request: Request, p: Principal) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.wall_view, p))

    @bp.route("/api/quality", methods=["GET"])
    @endpoint("quality.score")
    async def quality_checks(request: Request, p: Principal) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.quality_checks, p))

    @bp.route("/api/quality/sample", methods=["POST"])
    @endpoint("quality.score", write=True)
    async def quality_sample(request: Request, p: Principal) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.quality_sample, p, _body(request)))

    @bp.route("/api/conversations/<hid:int>/quality", methods=["POST"])
    @endpoint("quality.score", write=True)
    async def quality_score(request: Request, p: Principal, hid: int) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.quality_score, p, hid, _body(request)), status=201)

    @bp.route("/api/quality/checklist", methods=["GET"])
    @endpoint("quality.manage")
    async def checklist(request: Request, p: Principal) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.checklist_view, p))

    @bp.route("/api/quality/checklist", methods=["POST"])
    @endpoint("quality.manage", write=True)
    async def checklist_add(request: Request, p: Principal) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.checklist_add, p, _body(request)), status=201)

    @bp.route("/api/quality/checklist/<iid:int>", methods=["POST"])
    @endpoint("quality.manage", write=True)
    async def checklist_rename(request: Request, p: Principal, iid: int) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.checklist_rename, p, iid, _body(request)))

    @bp.route("/api/quality/checklist/<iid:int>/retire", methods=["POST"])
    @endpoint("quality.manage", write=True)
    async def checklist_retire(request: Request, p: Principal, iid: int) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.checklist_retire, p, iid))

    @bp.route("/api/staff", methods=["GET"])
    @endpoint("staff.manage")
    async def staff_list(request: Request, p: Principal) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.staff_list, p))

    @bp.route("/api/staff", methods=["POST"])
    @endpoint("staff.manage", write=True)
    async def staff_add(request: Request, p: Principal) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.staff_add, p, _body(request)), status=201)

    @bp.route("/api/staff/<username:str>/disable", methods=["POST"])
    @endpoint("staff.manage", write=True)
    async def staff_disable(request: Request, p: Principal, username: str) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.staff_set_active, p, username, False))

    @bp.route("/api/staff/<username:str>/enable", methods=["POST"])
    @endpoint("staff.manage", write=True)
    async def staff_enable(request: Request, p: Principal, username: str) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.staff_set_active, p, username, True))

    @bp.route("/api/staff/<username:str>/reset-password", methods=["POST"])
    @endpoint("staff.manage", write=True)
    async def staff_reset(request: Request, p: Principal, username: str) -> HTTPResponse:
        return response.json(await in_thread(_unit, service.staff_reset_password, p, username))

    backoffice_routes.register(bp, endpoint, _unit, _body)

    # Any other path under /api — among them an id no route accepts (``/conversations/abc``, digits of
    # another script) — is answered like every console API refusal: JSON (401 signed out, else 404),
    # not Sanic's page. Sanic tries a ``path`` parameter after every other route, so this is the last.
    @bp.route("/api/<rest:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    @endpoint()
    async def no_such_endpoint(request: Request, p: Principal, rest: str) -> HTTPResponse:
        raise ConsoleError(404, "not_found")

    return bp
