"""The page: `agent.to_web()`, a Starlette app serving one HTML page, its script and style (package data),
and a small JSON API the script calls; each run streams to the page as server-sent events (`_items`).

```
GET  /                       the page (?session=ID reopens a chat)
GET  /static/web.js|web.css  the page's script and style
POST /api/chat               {prompt, session?, files?: [{name, type, data (base64)}]} -> SSE of items
POST /api/approve            {session, call_id, approve, reason?}: decide a waiting call
POST /api/stop               {session}: cancel the chat's run
GET  /api/sessions           the chats, the most recent first
GET  /api/sessions/{id}      a chat's items
*    /ag-ui                  the AG-UI endpoint (`ag_ui=True`)
```
Every request must carry the app's token (`?token=`, the `X-Agentkit-Token` header or `Authorization:
Bearer`), or it is refused with 401. No CORS headers are sent, and the page forbids every origin but its own
(Content-Security-Policy).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import html
import json
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from .._run.approval import Decision
from ..exceptions import UserError
from ..messages import AudioPart, ContentPart, DocumentPart, ImagePart, ToolCall, UserMessage
from ..sessions import SQLiteSession
from ._chats import Chat, ChatList
from ._items import Item, approval_item, event_items, transcript_items, usage_json

if TYPE_CHECKING:
    from ..agent import Agent

__all__ = ["MAX_REQUEST_BYTES", "TokenGuard", "default_session_db", "web_app"]

MAX_REQUEST_BYTES = 64 * 1024 * 1024
"""The largest request body the page may send (its attachments, base64): larger ones are refused (413)."""
STATIC_FILES = ("web.js", "web.css")
_SESSION_ID = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_CURRENT = ' aria-current="page"'
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_PAGE_HEADERS = {"content-security-policy": _CSP, "referrer-policy": "no-referrer"}
"""The page's URL carries the token: no request it makes (an https image in a chat) sends it on."""


def default_session_db() -> Path:
    """Where `agentkit web` keeps chats by default: `web-sessions.db` in agentkit's cache folder."""
    from ..local._weights import cache_dir

    return cache_dir() / "web-sessions.db"


class TokenGuard:
    """ASGI middleware refusing (401) every HTTP request that does not carry `token`."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._carries_token(Request(scope)):
            response = JSONResponse(
                {"error": "missing or wrong token: open the URL agentkit web printed"}, status_code=401
            )
            await response(scope, receive, send)
            return
        if scope["type"] == "websocket" and not self._carries_token(WebSocket(scope, receive, send)):
            await send({"type": "websocket.close", "code": 1008})  # refused before the handshake (403)
            return
        await self.app(scope, receive, send)

    def _carries_token(self, request: HTTPConnection) -> bool:
        given = request.query_params.get("token") or request.headers.get("x-agentkit-token") or ""
        bearer = request.headers.get("authorization", "")
        if not given and bearer.lower().startswith("bearer "):
            given = bearer[7:].strip()
        return secrets.compare_digest(given.encode(), self.token.encode())


@dataclass(kw_only=True)
class _LiveRun:
    """A chat's run under way: its items on their way to the page, and the calls waiting for a person."""

    queue: asyncio.Queue[Item | None] = field(default_factory=asyncio.Queue)
    decisions: dict[str, asyncio.Future[Decision]] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None


class _Page:
    """The page's handlers over one agent and one SQLite file of chats."""

    def __init__(self, agent: Agent[Any, Any], *, session_db: Path | str, token: str, deps: Any) -> None:
        self.agent = agent
        self.session_db = str(session_db)
        self.token = token
        self.deps = deps
        self.chats = ChatList(self.session_db)
        self.live: dict[str, _LiveRun] = {}

    async def page(self, request: Request) -> Response:
        session = request.query_params.get("session")
        items = await self._items(session) if session else []
        chats = await asyncio.to_thread(self.chats.chats)
        return HTMLResponse(self._html(session, items, chats), headers=_PAGE_HEADERS)

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC_FILES:
            return JSONResponse({"error": f"no such file: {name}"}, status_code=404)
        text = resources.files(__package__).joinpath("static").joinpath(name).read_text("utf-8")
        kind = "text/javascript" if name.endswith(".js") else "text/css"
        return Response(text, media_type=f"{kind}; charset=utf-8", headers={"cache-control": "no-cache"})

    async def sessions(self, request: Request) -> Response:
        chats = await asyncio.to_thread(self.chats.chats)
        return JSONResponse([{"id": c.session_id, "title": c.title, "updated": c.updated} for c in chats])

    async def session_items(self, request: Request) -> Response:
        return JSONResponse(await self._items(request.path_params["session_id"]))

    async def chat(self, request: Request) -> Response:
        try:
            body = await _json_body(request)
            prompt, first_text = _prompt(body)
            session_id = _session_id(body)
            session = SQLiteSession(self.session_db, session_id)
        except UserError as exc:
            return _error(str(exc), 413 if isinstance(exc, _TooLarge) else 400)
        if session_id in self.live:
            return _error("this chat's run is still under way: stop it first", 409)
        live = _LiveRun()
        self.live[session_id] = live
        try:
            await asyncio.to_thread(self.chats.touch, session_id, first_text)
        except UserError as exc:
            del self.live[session_id]
            return _error(str(exc), 503)
        live.task = asyncio.create_task(self._drive(live, prompt, session))
        return StreamingResponse(
            _sse(live), media_type="text/event-stream", headers={"cache-control": "no-store"}
        )

    async def approve(self, request: Request) -> Response:
        try:
            body = await _json_body(request)
        except UserError as exc:
            return _error(str(exc), 400)
        live = self.live.get(_text_field(body, "session") or "")
        waiting = live.decisions.pop(_text_field(body, "call_id") or "", None) if live else None
        if waiting is None or waiting.done():
            return _error("no call of that id waits for approval in that chat", 404)
        reason = (_text_field(body, "reason") or "").strip()
        decision: Decision = True if body.get("approve") is True else (reason or False)
        waiting.set_result(decision)
        return JSONResponse({"decision": decision})

    async def stop(self, request: Request) -> Response:
        try:
            body = await _json_body(request)
        except UserError as exc:
            return _error(str(exc), 400)
        live = self.live.get(_text_field(body, "session") or "")
        if live is None or live.task is None:
            return JSONResponse({"stopped": False})
        live.task.cancel()
        return JSONResponse({"stopped": True})

    async def _drive(self, live: _LiveRun, prompt: str | list[ContentPart], session: SQLiteSession) -> None:
        """Run the agent on `prompt` in `session`, putting the page's items in `live.queue`."""
        put = live.queue.put_nowait

        async def approve(call: ToolCall) -> Decision:
            waiting: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
            live.decisions[call.id] = waiting
            put(approval_item(call, None))
            return await waiting

        put({"type": "session", "id": session.session_id})
        user_item = next(transcript_items([UserMessage(content=prompt)]))
        put(user_item)
        try:
            options: dict[str, Any] = {"session": session, "approve": approve}
            if self.deps is not None:
                options["deps"] = self.deps
            async with self.agent.run_stream(prompt, **options) as stream:
                async for event in stream:
                    for item in event_items(event):
                        put(item)
            put({"type": "done", "usage": usage_json(stream.result.usage), "session": session.session_id})
        except asyncio.CancelledError:  # Stop, or the page went away: the task ends here, its items told
            put({"type": "stopped"})
        except Exception as exc:  # the page shows every failure of the run
            put({"type": "error", "message": f"{type(exc).__name__}: {exc}"})
        finally:
            self.live.pop(session.session_id, None)
            for waiting in live.decisions.values():
                waiting.cancel()
            put(None)

    async def _items(self, session_id: str) -> list[Item]:
        try:
            messages = await SQLiteSession(self.session_db, session_id).load()
        except UserError:
            return [
                {"type": "error", "message": f"no chat {session_id!r} can be loaded from {self.session_db}"}
            ]
        return list(transcript_items(messages))

    def _html(self, session: str | None, items: list[Item], chats: list[Chat]) -> str:
        token = html.escape(self.token)
        links = "\n".join(
            f'<a data-testid="session" href="?token={token}&amp;session={html.escape(c.session_id)}"'
            f"{_CURRENT if c.session_id == session else ''}>{html.escape(c.title)}</a>"
            for c in chats
        )
        config = json.dumps({"token": self.token, "session": session, "items": items}).replace("<", "\\u003c")
        title = html.escape(self.agent.name or "agentkit")
        return _PAGE.format(title=title, token=token, links=links, config=config)


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · agentkit</title><link rel="stylesheet" href="static/web.css?token={token}"></head>
<body><aside><h1>{title}</h1><button type="button" data-testid="new-chat" id="new-chat">New chat</button>
<nav id="sessions">{links}</nav></aside>
<main><div id="log" aria-live="polite"></div>
<form id="composer"><textarea data-testid="prompt" id="prompt" rows="3" placeholder="Ask the agent…"></textarea>
<div class="row"><input type="file" id="files" data-testid="upload" multiple accept="image/*,application/pdf,audio/*">
<span class="grow"></span><button type="button" data-testid="stop" id="stop" disabled>Stop</button>
<button type="submit" data-testid="send" id="send">Send</button></div></form>
<footer data-testid="usage" id="usage"></footer></main>
<script type="application/json" id="agentkit-config">{config}</script>
<script src="static/web.js?token={token}"></script></body></html>
"""


async def _sse(live: _LiveRun) -> AsyncIterator[str]:
    """The run's items as server-sent events; the page going away stops the run."""
    try:
        while (item := await live.queue.get()) is not None:
            yield f"data: {json.dumps(item)}\n\n"
    finally:
        if live.task is not None and not live.task.done():
            live.task.cancel()


class _TooLarge(UserError):
    """A request body over `MAX_REQUEST_BYTES` (413)."""


async def _json_body(request: Request) -> dict[str, Any]:
    size = 0
    chunks: list[bytes] = []
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_REQUEST_BYTES:
            raise _TooLarge(f"the request is too large (over {MAX_REQUEST_BYTES // 2**20} MiB)")
        chunks.append(chunk)
    try:
        body = json.loads(b"".join(chunks) or b"{}")
    except ValueError:
        raise UserError("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise UserError("the request body must be a JSON object")
    return body


def _session_id(body: Mapping[str, Any]) -> str:
    """The chat's session id (a new one when none is given): letters, digits, `_`, `-` and `.` only."""
    given = _text_field(body, "session")
    if given is None:
        return uuid.uuid4().hex
    if not _SESSION_ID.fullmatch(given):
        raise UserError("session must be 1 to 128 letters, digits, '_', '-' or '.'")
    return given


def _text_field(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise UserError(f"{name} must be a string")
    return value


def _prompt(body: Mapping[str, Any]) -> tuple[str | list[ContentPart], str]:
    """The run's prompt (text, or text and attachments) and its text."""
    text = _text_field(body, "prompt") or ""
    files = body.get("files") or []
    if not isinstance(files, list):
        raise UserError("files must be a list of {name, type, data}")
    parts = [_attachment(f) for f in files]
    if not text.strip() and not parts:
        raise UserError("type a message (or attach a file)")
    if not parts:
        return text, text
    from ..messages import TextPart

    return ([TextPart(text=text)] if text.strip() else []) + parts, text


def _attachment(entry: object) -> ContentPart:
    """An uploaded file as a message part: an image, a PDF or audio, checked by its bytes."""
    if not isinstance(entry, dict) or not isinstance(entry.get("data"), str):
        raise UserError("each file must be {name, type, data} with its bytes in base64")
    name = str(entry.get("name") or "file")
    kind = str(entry.get("type") or "")
    try:
        data = base64.b64decode(entry["data"], validate=True)
    except (binascii.Error, ValueError):
        raise UserError(f"{name}: its data is not base64") from None
    if kind == "application/pdf" or name.lower().endswith(".pdf"):
        return DocumentPart.from_bytes(data, filename=name)
    if kind.startswith("audio/"):
        return AudioPart.from_bytes(data)
    if kind.startswith("image/") or not kind:
        return ImagePart.from_bytes(data)
    raise UserError(f"{name}: attach images, PDF documents or audio (not {kind})")


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def web_app(
    agent: Agent[Any, Any],
    *,
    session_db: str | Path | None = None,
    token: str | None = None,
    ag_ui: bool = False,
    deps: Any = None,
) -> Starlette:
    """The page's ASGI app (what `Agent.to_web` returns); `app.state.token` is the token it requires."""
    token = token or secrets.token_urlsafe(24)
    page = _Page(agent, session_db=session_db or default_session_db(), token=token, deps=deps)
    routes: list[Route | Mount] = [
        Route("/", page.page),
        Route("/static/{name}", page.static),
        Route("/api/chat", page.chat, methods=["POST"]),
        Route("/api/approve", page.approve, methods=["POST"]),
        Route("/api/stop", page.stop, methods=["POST"]),
        Route("/api/sessions", page.sessions),
        Route("/api/sessions/{session_id}", page.session_items),
    ]
    if ag_ui:
        from ._ag_ui import ag_ui_app

        routes.append(Mount("/ag-ui", app=ag_ui_app(agent, deps=deps)))
    app = Starlette(routes=routes)
    app.add_middleware(TokenGuard, token=token)
    app.state.token = token
    return app
