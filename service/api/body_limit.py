"""A cap on request bodies, checked before the body is read.

A pure ASGI middleware: a ``Content-Length`` over the limit is answered 413 at once,
without reading a byte; a body without one (chunked) is counted as it streams and cut off
at the limit. File uploads (multipart) get the upload limit, every other body (JSON) a
much smaller one.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from blueprint.layers.inputs import whole

MB = 1024 * 1024


class BodyTooLarge(Exception):
    """Raised into the app when a streamed body passes the limit."""


class BodyLimit:
    """Refuse request bodies larger than the limit for their content type (413)."""

    def __init__(self, app: ASGIApp, *, upload_bytes: int, other_bytes: int) -> None:
        self.app = app
        self.upload_bytes = upload_bytes
        self.other_bytes = other_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, counting its body; answer 413 once it is over the limit."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        limit = (self.upload_bytes if headers.get("content-type", "").startswith("multipart/")
                 else self.other_bytes)
        length = headers.get("content-length", "")
        number = whole(length)  # None: not a number, or more digits than any limit has
        if length.isdecimal() and (number is None or number > limit):
            await _refuse(send, limit)
            return
        state = {"received": 0, "over": False, "started": False}

        async def counted_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["over"] = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            if state["over"]:  # whatever the app answers, the answer is 413
                if message["type"] == "http.response.start" and not state["started"]:
                    state["started"] = True
                    await _refuse(send, limit)
                return
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except BodyTooLarge:
            if not state["started"]:
                await _refuse(send, limit)


async def _refuse(send: Send, limit: int) -> None:
    body: dict[str, Any] = {
        "error": "too_large",
        "message": f"the request body is larger than the limit of {limit / MB:.0f} MB",
        "message_zh": f"请求数据超过 {limit / MB:.0f} MB 的上限",
        "where": None,
    }
    raw = json.dumps(body, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(raw)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": raw})
