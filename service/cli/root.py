"""The ``blueprint`` command: the one place that assembles the command groups.

Each group owns its Typer app (``layers``, ``sample``, ``db``, ``users``, ``quota``,
``projects``, ``consult``, ``meeting``, ``audit``, ``tracking``); the top-level commands
(``serve``, ``vet``, ``vet-batch``, ``convert``, ``site-search``, ``backup``, ``restore``,
``bulletin``) are plain functions registered here.
"""

from __future__ import annotations

import logging
import os
import sys

import typer

from blueprint.layers.errors import BlueprintError
from blueprint.service.cli import (
    audit,
    backup,
    consult,
    convert,
    db,
    meeting,
    projects,
    quota_reports,
    sample,
    serve,
    site_search,
    tracking,
    users,
    vet,
)
from blueprint.service.cli import layers as layer_commands
from blueprint.service.cli.console import err

# Plain (click) help: typer's rich help loads markdown-it and rich.traceback, ~0.3 s of a
# 0.5 s start budget (issue 9); the sub-apps inherit it.
app = typer.Typer(help="一张蓝图 Blueprint: planning layers, site vetting, quotas.\n\n"
                  "The command line is an administrator's tool (命令行仅供系统管理员使用): "
                  "it acts as admin on the store it can open. Every audit row it writes "
                  "records the operating-system user beside the actor BLUEPRINT_ACTOR or "
                  "--user declares. Staff use the web pages and the API with their own "
                  "accounts.",
                  no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None)


@app.callback()
def _command_origin(ctx: typer.Context) -> None:
    from blueprint.layers.audit_chain import AUDIT_ORIGIN
    from blueprint.service.context import command_origin

    token = AUDIT_ORIGIN.set(command_origin())
    ctx.call_on_close(lambda: AUDIT_ORIGIN.reset(token))

app.add_typer(layer_commands.layers_app, name="layers")
app.add_typer(sample.sample_app, name="sample")
app.add_typer(db.db_app, name="db")
app.add_typer(users.users_app, name="users")
# The quota group (``service.cli.quota``) with the reading commands ``quota_reports`` adds.
app.add_typer(quota_reports.quota_app, name="quota")
app.add_typer(projects.projects_app, name="projects")
app.add_typer(consult.consult_app, name="consult")
app.add_typer(meeting.meeting_app, name="meeting")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(tracking.tracking_app, name="tracking")
app.command("serve")(serve.serve)
app.command("vet")(vet.vet)
app.command("vet-batch")(vet.vet_batch)
app.command("convert")(convert.convert)
app.command("site-search")(site_search.site_search)
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)
app.command("bulletin")(tracking.bulletin)


def main() -> None:
    """Entry point: run the CLI; domain errors become one line on stderr and exit 2."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        try:
            app(standalone_mode=False)
        except Exception as exc:  # a database server gone mid-way: one line, exit 2
            if not _connection_lost(exc):
                raise
            from blueprint.layers.store import storage_unavailable

            raise storage_unavailable(exc) from None
    except BlueprintError as exc:
        sys.stderr.write(f"error: {exc} ({exc.message_zh})\n")
        raise SystemExit(2) from None
    except (typer.Abort, KeyboardInterrupt):
        err.print("aborted")
        raise SystemExit(130) from None
    except Exception as exc:  # click usage errors and the unexpected
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            raise SystemExit(2) from None
        if os.environ.get("BLUEPRINT_DEBUG"):
            raise
        sys.stderr.write(f"internal error: {exc.__class__.__name__}: {exc} "
                         "(set BLUEPRINT_DEBUG=1 for details)\n")
        raise SystemExit(1) from None


def _connection_lost(exc: Exception) -> bool:
    if "sqlalchemy" not in sys.modules:
        return False
    from sqlalchemy import exc as sa_exc

    return isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)
