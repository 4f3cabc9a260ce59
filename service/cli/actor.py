"""Who a CLI command acts as: the local operator, or a named user of the users table.

Without ``--user`` the command acts as the local operator, an ``admin`` named after
``BLUEPRINT_ACTOR`` or the OS user (``service.context.local_actor``); ``--user NAME``
takes that user's role, county and department instead (an active user, else an error).
The quota, project, consultation, meeting and audit commands share this.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from blueprint.layers.errors import NotFound
from blueprint.service.context import local_actor

if TYPE_CHECKING:
    from blueprint.layers.store import Store
    from blueprint.layers.users import User

UserName = Annotated[str | None, typer.Option("--user", help="Act as this user "
                                              "(default: the local operator, admin)")]


def acting_user(store: Store, name: str | None) -> User:
    """The local operator (admin) or the active user ``name``."""
    import sqlalchemy as sa

    from blueprint.layers.schema import users
    from blueprint.layers.users import User

    if not name:
        return User(name=local_actor(), role="admin")
    with store.read() as conn:
        row = conn.execute(sa.select(users).where(users.c.name == name,
                                                  users.c.active.is_(True))).first()
    if row is None:
        raise NotFound(f"user {name!r} does not exist", message_zh=f"用户“{name}”不存在",
                       where="--user")
    return User(name=row.name, role=row.role, county=row.county, department=row.department)
