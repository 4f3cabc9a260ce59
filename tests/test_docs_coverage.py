"""Every command and option of ``blueprint`` and every route of the app is written down in
README.md or docs/*.md: the command as ``blueprint GROUP COMMAND`` (or in a group's list,
``blueprint consult start|add-dept|…``), each option by name, each route by its path. A new
command, option or endpoint without a line in the docs fails here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from blueprint.service.app import create_app
from blueprint.service.cli.root import app as cli_app
from blueprint.service.settings import Settings

REPO = Path(__file__).resolve().parent.parent
DOCS = "\n".join(p.read_text(encoding="utf-8")
                 for p in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))])
# FastAPI's own page for Swagger's OAuth2 flow, and the icon browsers ask for.
NOT_FOR_READERS = {"/docs/oauth2-redirect", "/favicon.ico"}


Command = tuple[tuple[str, ...], Any]


def commands(command: Any = None, path: tuple[str, ...] = ()) -> Iterator[Command]:
    """Every command that runs something: its path under ``blueprint`` and the click
    command (a group with its own options, as ``audit``, counts too)."""
    command = command or typer.main.get_group(cli_app)
    subcommands = getattr(command, "commands", None)
    if path and (subcommands is None or any(p.name != "help" for p in command.params)):
        yield path, command
    for name in subcommands or {}:
        yield from commands(subcommands[name], (*path, name))


def documented_command(path: tuple[str, ...]) -> bool:
    """``blueprint A B`` written out, or B in the list after ``blueprint A`` on one line."""
    words = " ".join(path)
    if re.search(rf"blueprint {re.escape(words)}(?![\w-])", DOCS):
        return True
    group, last = " ".join(path[:-1]), path[-1]
    return bool(group) and any(
        re.search(rf"(?<![\w-]){re.escape(last)}(?![\w-])", line.split(f"blueprint {group}", 1)[1])
        for line in DOCS.splitlines() if f"blueprint {group}" in line)


def routes() -> Iterator[str]:
    """The path of every route of the app (the API, the OGC API, the pages)."""
    def walk(items: list[Any], prefix: str = "") -> Iterator[str]:
        for r in items:
            if hasattr(r, "original_router"):  # an included router (FastAPI ≥ 0.12x)
                yield from walk(r.original_router.routes, prefix + r.include_context.prefix)
            elif hasattr(r, "routes") and not hasattr(r, "methods"):  # a mount
                yield from walk(r.routes, prefix + getattr(r, "path", ""))
            elif getattr(r, "path", ""):
                yield prefix + r.path
    return walk(create_app(Settings(data_dir=Path("/nonexistent"))).routes)


def _pattern(path: str) -> str:
    """A route as a regex: each ``{param}`` may be written with any name."""
    parts = re.split(r"\{[^}]+\}", path)
    return r"\{[^}]+\}".join(re.escape(p) for p in parts) + r"(?![\w/{])"


def test_the_lists_are_read() -> None:
    found = {" ".join(p) for p, _ in commands()}
    assert {"vet", "quota grant", "tracking plan set", "audit", "audit verify"} <= found
    assert {"/api/vet", "/ogc/collections/{name}/items", "/quota"} <= set(routes())
    assert documented_command(("consult", "add-dept"))  # in `blueprint consult start|add-dept|…`
    assert not documented_command(("quota", "no-such-command"))
    assert re.search(_pattern("/api/projects/{code}/site"), "`GET /api/projects/{id}/site?f`")
    assert not re.search(_pattern("/api/projects"), "`GET /api/projects/{code}`")


@pytest.mark.parametrize("path", [" ".join(p) for p, _ in commands()])
def test_every_command_is_documented(path: str) -> None:
    assert documented_command(tuple(path.split())), f"`blueprint {path}` is in no doc"


def test_every_option_is_documented() -> None:
    missing = []
    for path, command in commands():
        for param in command.params:
            if param.param_type_name != "option" or param.hidden or "--help" in param.opts:
                continue
            names = [o for o in (*param.opts, *param.secondary_opts) if o.startswith("--")]
            if names and not any(re.search(rf"{re.escape(n)}(?![\w-])", DOCS) for n in names):
                missing.append(f"blueprint {' '.join(path)} {names[0]}")
    assert missing == []


def test_every_route_is_documented() -> None:
    missing = sorted({p for p in routes() if p not in NOT_FOR_READERS
                      and not p.startswith("/static")
                      and not re.search(_pattern(p), DOCS)})
    assert missing == []
