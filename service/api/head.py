"""``HEAD`` answered wherever ``GET`` is, decided in one place (RFC 9110 §9.3.2).

FastAPI's routes answer the methods they name, and ``HEAD /api/layers`` was a 405: a
client checking an address (a link checker, ``curl -I``, a proxy's health check) read it as
gone. This pure ASGI middleware hands a ``HEAD`` request on as ``GET`` and sends the answer
without its body: the same status and headers (``Content-Type``, ``Content-Length``,
``ETag``, ``X-Total-Count`` …), for the API, the OGC API and the pages alike and for a route
added later. An address without ``GET`` answers ``HEAD`` with its 405, whose ``Allow``
lists ``HEAD`` exactly where it lists ``GET`` (:func:`allowed_with_head`).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    """ASGI middleware: a ``HEAD`` request is answered as ``GET``, without the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass a ``HEAD`` request on as ``GET`` and drop its body; any other as it is."""
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] in ("http.response.start", "http.response.trailers"):
                await send(message)
            elif not message.get("more_body", False):  # the last of the body: none
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app({**scope, "method": "GET"}, receive, headers_only)


def allowed_with_head(methods: list[str]) -> list[str]:
    """``methods`` with ``HEAD`` right after ``GET`` when ``GET`` is one, never otherwise.

    >>> allowed_with_head(["GET", "POST"]), allowed_with_head(["POST"])
    (['GET', 'HEAD', 'POST'], ['POST'])
    """
    rest = [m for m in methods if m != "HEAD"]
    if "GET" not in rest:
        return rest
    at = rest.index("GET") + 1
    return [*rest[:at], "HEAD", *rest[at:]]
