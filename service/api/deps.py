"""FastAPI dependencies: the store, the rules and the authenticated user.

The ones that only read ``app.state`` are ``async``: FastAPI runs a plain ``def`` dependency
in the thread pool, one hop per dependency per request; the user lookup reads the store and
runs there.
"""

from __future__ import annotations

from typing import Annotated

from anyio import CapacityLimiter
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from blueprint.analysis.rules import Rules
from blueprint.layers.errors import NotAllowed
from blueprint.layers.sessions import SESSION_COOKIE
from blueprint.layers.store import Store
from blueprint.layers.users import User, authenticate
from blueprint.service.context import reading_store
from blueprint.service.settings import Settings
from blueprint.web.session import request_session

_bearer = HTTPBearer(auto_error=False)


async def get_store(request: Request) -> Store:
    """The store opened by the lifespan."""
    return request.app.state.store  # type: ignore[no-any-return]


async def get_read_store(request: Request) -> Store:
    """The store for read-only requests: the read replica when configured
    (:func:`blueprint.service.context.reading_store`)."""
    return reading_store(request.app.state.store)


async def get_rules(request: Request) -> Rules:
    """The vetting rules loaded at start-up."""
    return request.app.state.rules  # type: ignore[no-any-return]


async def get_store_threads(request: Request) -> CapacityLimiter | None:
    """How many threads of this worker may vet at once (``anyio.to_thread.run_sync(...,
    limiter=...)``): on PostGIS ``BLUEPRINT_POOL_SIZE``, the connections the store pools, so
    that a busy worker never opens and closes an overflow connection per request; None (the
    default thread pool) on the embedded engine (service/app.py)."""
    return request.app.state.store_threads  # type: ignore[no-any-return]


async def get_app_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings  # type: ignore[no-any-return]


async def current_user(request: Request,
                       creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
                       ) -> User:
    """The user of the bearer token; 401 without a valid one (looked up in the store, in the
    thread pool)."""
    return await run_in_threadpool(authenticate, creds.credentials if creds else None,
                                   store=request.app.state.store)


async def optional_user(request: Request,
                        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
                        ) -> User | None:
    """The user of the bearer token; without one, the user of the page session the map's
    requests carry (same site only: its cookie is SameSite=Strict), so that a report made
    on the map names who signed in; None for neither. 401 for a token that is not valid; a
    session that ended counts as none; 403 for the session of a user who must first change
    a password an administrator set (the pages send them to /account; a token is the
    user's own). Only read-only endpoints take this dependency."""
    return await _token_or_session_user(request, creds)


async def caller(request: Request) -> User | None:
    """What :func:`optional_user` reads, outside a route (the sign-in gate's middleware)."""
    return await _token_or_session_user(request, await _bearer(request))


async def _token_or_session_user(request: Request, creds: HTTPAuthorizationCredentials | None
                                 ) -> User | None:
    if creds is not None:
        return await run_in_threadpool(authenticate, creds.credentials,
                                       store=request.app.state.store)
    if not request.cookies.get(SESSION_COOKIE):  # anonymous: no store read, no thread hop
        return None
    return await run_in_threadpool(_session_user, request)


def _session_user(request: Request) -> User | None:
    """The page session's user (read once a request: the sign-in gate's read is reused)."""
    session = request_session(request, request.app.state.store)
    if session is None:
        return None
    if session.must_change_password:
        raise NotAllowed(f"user {session.user.name!r} must change the password an "
                         "administrator set before using the API (on /account)",
                         message_zh="请先在“账号与密码”页修改管理员设置的密码，再使用本功能",
                         where="password")
    return session.user


StoreDep = Annotated[Store, Depends(get_store)]
ReadStoreDep = Annotated[Store, Depends(get_read_store)]
RulesDep = Annotated[Rules, Depends(get_rules)]
UserDep = Annotated[User, Depends(current_user)]
OptionalUserDep = Annotated[User | None, Depends(optional_user)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
StoreThreadsDep = Annotated[CapacityLimiter | None, Depends(get_store_threads)]
