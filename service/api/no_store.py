"""Files Blueprint sends are kept by no cache, decided in one place.

A 初审意见书, a site's 界址点坐标文件 or GeoPackage, a quota export, a monthly bulletin:
what a city keeps to itself (red-line conflicts, parcels' coordinates, counties' quotas)
must not stay in a browser's disk cache or a proxy's after it is read. Every file the app
sends names itself by ``Content-Disposition`` (:mod:`blueprint.analysis.downloads`), so this
pure ASGI middleware gives each response that carries one ``Cache-Control: no-store``, for
the API and the pages alike and for a route added later, unless the route chose its own
(a report's photo is kept ``private`` for an hour, in the browser only).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NO_STORE = "no-store"


class NoStoreFiles:
    """ASGI middleware: ``Cache-Control: no-store`` on a file without a Cache-Control."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; mark the response's start if it is a file."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "content-disposition" in headers and "cache-control" not in headers:
                    headers["cache-control"] = NO_STORE
            await send(message)

        await self.app(scope, receive, sending)
