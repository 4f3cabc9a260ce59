"""The ``blueprint`` command: the one place that assembles the command groups.

Each group owns its Typer app (``layers``, ``sample``, ``db``, ``users``, ``quota``,
``projects``, ``consult``, ``meeting``, ``audit``, ``tracking``); the top-level commands
(``serve``, ``vet``, ``vet-batch``, ``convert``, ``site-search``, ``backup``, ``restore``,
``bulletin``) are plain functions in their modules.

Registration is lazy (issue 9: ``blueprint --help`` and ``layers list`` start in under
0.5 s): :data:`COMMANDS` names each command and group, the module and attribute that hold
it and its one-line help. ``blueprint --help`` prints the table without importing any of
those modules; a command's module is imported, and its Typer app converted to a click
command, only when that command is invoked (or its own ``--help`` is asked for).
tests/test_cli_lazy.py keeps the table in step with the modules.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import sys
from collections.abc import Iterator, MutableMapping
from typing import Any, NamedTuple, NoReturn

import typer
from typer.core import TyperCommand, TyperGroup

from blueprint.layers.errors import BlueprintError


class Lazy(NamedTuple):
    """Where a command lives: ``service.cli.<module>.<attribute>`` (a Typer app for a group,
    a function for a command) and the first paragraph of its help, shown by ``--help``."""

    module: str
    attribute: str
    help: str


# In the order ``blueprint --help`` lists them: the commands, then the groups.
COMMANDS: dict[str, Lazy] = {
    "serve": Lazy("serve", "serve", "Serve the blueprint map (/) and the HTTP API (/api, "
                  "/ogc, /docs) with uvicorn."),
    "vet": Lazy("vet", "vet", "Vet a site against every layer of the blueprint."),
    "vet-batch": Lazy("vet", "vet_batch", "Vet many sites on all cores with a progress bar; "
                      "bad files are reported, not fatal."),
    "convert": Lazy("convert", "convert", "Write a site in the form an applicant or a "
                    "surveyor uses (exit 2 on bad input)."),
    "site-search": Lazy("site_search", "site_search", "Find where a project can go: "
                        "candidates the vetting passes, ranked, with reasons."),
    "backup": Lazy("backup", "backup", "Back up the whole store (records, layers, rasters) "
                   "into one archive (mode 0600)."),
    "restore": Lazy("backup", "restore", "Restore the whole store from a backup; a store "
                    "that is not empty needs --force."),
    "bulletin": Lazy("tracking", "bulletin", "The monthly bulletin (一月一通报): PDF and xlsx "
                     "of figures, red and yellow projects, open problems and the ranking."),
    "layers": Lazy("layers", "layers_app", "Layers of the one blueprint (import, list, "
                   "history, remove)."),
    "sample": Lazy("sample", "sample_app", "The sample city (Liaocheng)."),
    "db": Lazy("db", "db_app", "Database schema."),
    "users": Lazy("users", "users_app", "Users, API tokens and passwords."),
    # The quota group (``service.cli.quota``) with the reading commands ``quota_reports`` adds.
    "quota": Lazy("quota_reports", "quota_app", "Quota ledger (要素指标台账): grant, hold, "
                  "allocate, lend, adjust, reclaim, reverse; balances, movements, loans, "
                  "exports."),
    "projects": Lazy("projects", "projects_app", "Project library (项目库): create, list, "
                     "show, vet, revise, libraries, stages, exit, stale reports."),
    "consult": Lazy("consult", "consult_app", "Consultation between departments (业务协同): "
                    "rounds, answers, inbox, overdue."),
    "meeting": Lazy("meeting", "meeting_app", "Joint meeting (联席会议): problem list and "
                    "decisions."),
    "audit": Lazy("audit", "audit_app", "The audit log (city-level users); `audit verify` "
                  "checks it."),
    "tracking": Lazy("tracking", "tracking_app", "Tracking after approval (跟踪调度): plans, "
                     "monthly reports, problems, late reports, colours, figures."),
}


def load_command(name: str) -> Any:
    """The Typer app or function registered as ``name`` (imports its module)."""
    entry = COMMANDS[name]
    return getattr(importlib.import_module(f"blueprint.service.cli.{entry.module}"),
                   entry.attribute)


class _Commands(MutableMapping[str, Any]):
    """A group's commands by name: every name of :data:`COMMANDS` is there from the start;
    a command is built (its module imported) the first time it is looked up."""

    def __init__(self, built: MutableMapping[str, Any]) -> None:
        self._built = dict(built)

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            if name not in COMMANDS:
                raise KeyError(name)
            self._built[name] = _click_command(name, load_command(name))
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._built[name]

    def __iter__(self) -> Iterator[str]:
        yield from COMMANDS
        yield from (n for n in self._built if n not in COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS) + sum(1 for n in self._built if n not in COMMANDS)

    def __contains__(self, name: object) -> bool:
        return name in COMMANDS or name in self._built

    def is_built(self, name: str) -> bool:
        return name in self._built


def _click_command(name: str, target: Any) -> Any:
    """The click command for a Typer app or a function, as ``app.add_typer`` or
    ``app.command`` on the root would have built it (plain help, as the root's)."""
    wrapper = typer.Typer(rich_markup_mode=app.rich_markup_mode, add_completion=False,
                          pretty_exceptions_short=app.pretty_exceptions_short)
    if isinstance(target, typer.Typer):
        wrapper.add_typer(target, name=name)
    else:
        wrapper.command(name)(target)
    command = typer.main.get_group(wrapper).commands[name]
    todo = [command]
    while todo:  # the command and its subcommands
        built = todo.pop()
        todo.extend(getattr(built, "commands", {}).values())
        for param in built.params:
            if _holds_text(param) and not getattr(param.callback, "says_empty", False):
                param.callback = _not_empty(param.callback)
    return command


def _holds_text(param: Any) -> bool:
    """A text or path parameter (or a repeated one)."""
    import typing
    from pathlib import Path

    described = getattr(param, "type_descriptor", None)
    kind = getattr(described, "annotation", None)
    if typing.get_origin(kind) is list:
        kind = typing.get_args(kind)[0]
    return kind in (str, Path)


def _not_empty(callback: Any) -> Any:
    """``callback`` after a check that an empty value typed for the parameter is refused,
    naming it (``--county ''`` is not "every county"; leaving the option out is)."""
    from pathlib import Path

    def check(ctx: Any, param: Any, value: Any) -> Any:
        source = ctx.get_parameter_source(param.name)
        values = value if isinstance(value, list | tuple) else [value]
        typed = _typed_values(param)
        if getattr(source, "name", "") == "COMMANDLINE" and any(
                v == "" or (isinstance(v, Path) and str(v) == "." and "" in typed)
                for v in values):
            raise _empty_value(param)
        return value if callback is None else callback(ctx, param, value)

    return check


def _empty_value(param: Any) -> BlueprintError:
    """The error for an empty value typed for ``param``, naming it."""
    from blueprint.layers.errors import BadInput
    from blueprint.service.cli.console import param_name

    name = param_name(param)
    optional = param.param_type_name == "option" and not param.required
    return BadInput(f"an empty value; give one{' or leave the option out' * optional}",
                    where=name, message_zh=f"{name} 不能为空"
                    + ("（不需要时请不写此选项）" if optional else f"，请填写 {name}"))


class LazyGroup(TyperGroup):
    """The root group: knows every command's name and help, builds a command on use."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _Commands(self.commands)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """``--help``: the commands from the table, without importing their modules."""
        commands = self.commands
        assert isinstance(commands, _Commands)
        rows = []
        limit = formatter.width - 6 - max(len(name) for name in commands)
        for name in commands:
            if commands.is_built(name):
                command = commands[name]
                if command.hidden:
                    continue
                rows.append((name, command.get_short_help_str(limit)))
            else:  # same truncation as the real command's
                rows.append((name, TyperCommand(name, help=COMMANDS[name].help)
                             .get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


# Plain (click) help: typer's rich help loads markdown-it and rich.traceback, ~0.3 s of a
# 0.5 s start budget (issue 9); the sub-apps inherit it.
app = typer.Typer(help="一张蓝图 Blueprint: planning layers, site vetting, quotas.\n\n"
                  "The command line is an administrator's tool (命令行仅供系统管理员使用): "
                  "it acts as admin on the store it can open. Every audit row it writes "
                  "records the operating-system user beside the actor BLUEPRINT_ACTOR or "
                  "--user declares. Staff use the web pages and the API with their own "
                  "accounts.",
                  cls=LazyGroup, no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode=None)


@app.callback()
def _command_origin(ctx: typer.Context) -> None:
    from blueprint.layers.audit_chain import AUDIT_ORIGIN
    from blueprint.service.context import command_origin

    token = AUDIT_ORIGIN.set(command_origin())
    ctx.call_on_close(lambda: AUDIT_ORIGIN.reset(token))


def main() -> None:
    """Entry point: run the CLI; domain errors become one line on stderr and exit 2."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        try:
            # Without standalone mode click returns a command's typer.Exit(N) code
            # (audit verify's 1) instead of exiting with it.
            code = app(standalone_mode=False, prog_name="blueprint")
        except Exception as exc:  # a database server gone mid-way: one line, exit 2
            if not _connection_lost(exc):
                raise
            from blueprint.layers.store import storage_unavailable

            raise storage_unavailable(exc) from None
    except BlueprintError as exc:
        sys.stderr.write(error_line(exc))
        raise SystemExit(2) from None
    except (typer.Abort, KeyboardInterrupt):
        _aborted()
    except Exception as exc:  # click usage errors and the unexpected
        if isinstance(exc, _click_errors()):
            usage = _usage_error(exc)
            if usage is None:  # no arguments: the help, as click shows it
                exc.show()
            else:
                sys.stderr.write(error_line(usage))
            raise SystemExit(2) from None
        if debug():
            raise
        sys.stderr.write(shown(f"internal error: {exc.__class__.__name__}: {exc} "
                               "(set BLUEPRINT_DEBUG=1 for details)") + "\n")
        raise SystemExit(1) from None
    if code == INTERRUPTED:  # typer's own Exit(130) for a Ctrl-C (no command exits so)
        _aborted()
    if type(code) is int and code:  # a command's typer.Exit(N); never a bool it returned
        raise SystemExit(code)


INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a Ctrl-C


def _aborted() -> NoReturn:
    """A Ctrl-C: one line saying so (typer turns it into a silent exit 130)."""
    sys.stderr.write("aborted (已中断)\n")
    raise SystemExit(INTERRUPTED)


def debug() -> bool:
    """``BLUEPRINT_DEBUG`` on (``1``, ``true``, ``yes``, ``on``): an unexpected error shows its
    traceback instead of one line. Read here from the environment, not from the settings,
    whose own errors (a bad ``BLUEPRINT_…`` value) this path must report too."""
    return os.environ.get("BLUEPRINT_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


def _click_errors() -> tuple[type[Any], ...]:
    """click's usage errors (no such command, a bad option, a missing argument): typer ≥ 0.2x
    carries its own copy of click (``typer._click``), whose errors are not ``click``'s."""
    import click

    try:
        from typer._click.exceptions import ClickException
    except ImportError:  # an older typer runs on click itself
        return (click.ClickException,)
    return (click.ClickException, ClickException)


# A typed value longer than LONG_VALUE characters (a file path is shorter) is shown cut to
# its first SHOWN_LEN ones.
LONG_VALUE, SHOWN_LEN = 200, 60
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def error_line(exc: BlueprintError) -> str:
    """The CLI's one error line: ``error: English (中文)``, as :func:`shown`."""
    return shown(f"error: {exc} ({exc.message_zh})") + "\n"


def shown(line: str) -> str:
    """``line`` as the terminal may show it: control characters escaped as ``repr`` writes
    them (``\\x1b``, ``\\n``: one line, no escape sequence run), and every value typed on
    the command line longer than :data:`LONG_VALUE` characters that the line echoes cut
    to its first :data:`SHOWN_LEN` ones and "…"."""
    line = _escaped(line)
    typed = {part for word in sys.argv[1:] for part in (word, word.partition("=")[2])}
    for word in sorted((w for w in typed if len(w) > LONG_VALUE), key=len, reverse=True):
        line = line.replace(_escaped(word), _escaped(word[:SHOWN_LEN]) + "…")
    return line


def _escaped(text: str) -> str:
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


# click's reasons for a bad value, in the words of the rest of the CLI.
_REASONS_ZH = ((r"does not exist", "不存在"), (r"is a directory", "是文件夹，请指定文件"),
               (r"is a file", "是文件，请指定文件夹"), (r"is not readable", "无权读取"),
               (r"greater than or equal to (\S+?)\.?$", "须不小于 {}"),
               (r"less than or equal to (\S+?)\.?$", "须不大于 {}"),
               (r"greater than (\S+?)\.?$", "须大于 {}"), (r"less than (\S+?)\.?$", "须小于 {}"),
               (r"valid integer|parse string as an integer", "须为整数"),
               (r"valid number|valid float|as a number", "须为数字"),
               (r"valid date|datetime", "须为日期"))


def _usage_error(exc: Any) -> BlueprintError | None:
    """click's usage error (a bad or missing value, an unknown option or command) as the
    usual one-line error naming the option and the value, or None for the help click
    shows when a group is given no arguments."""
    import re

    from blueprint.layers.errors import BadInput
    from blueprint.service.cli.console import param_name

    ctx = getattr(exc, "ctx", None)
    help_line = f"{ctx.command_path} --help" if ctx is not None else "blueprint --help"
    kind = type(exc).__name__
    message = exc.format_message()
    if kind == "NoArgsIsHelpError":
        return None
    param = getattr(exc, "param", None)
    if kind == "MissingParameter" and param is not None:  # an argument as the usage line
        name = param_name(param) if param.param_type_name == "option" else (
            param.get_error_hint().strip("'"))
        return BadInput(f"missing {param.param_type_name} {name}", where=name,
                        message_zh=f"请填写 {name}")
    if kind == "BadParameter" and param is not None:
        name = param_name(param)
        value = _typed_value(param)
        if value == "":  # a path checked by click before the empty check sees it
            return _empty_value(param)
        shown = "" if value is None else f" {value!r}"
        reason = next((zh.format(*m.groups()) for pattern, zh in _REASONS_ZH
                       if (m := re.search(pattern, exc.message))), "")
        return BadInput(f"invalid value{shown}: {exc.message}", where=name,
                        message_zh=f"{name} 的值{'' if value is None else f'“{value}”'}无效"
                                   + (f"：{reason}" if reason else ""))
    if kind == "NoSuchOption":
        option = exc.option_name
        maybe = sorted(exc.possibilities or ())
        return BadInput(message, where=ctx.command_path if ctx is not None else None,
                        message_zh=f"没有选项 {option}"
                                   + (f"，是否要用 {'、'.join(maybe)}" if maybe else "")
                                   + f"；可用选项见 {help_line}")
    if kind == "BadOptionUsage" and "requires an argument" in message:
        return BadInput(message, where=exc.option_name,
                        message_zh=f"选项 {exc.option_name} 需要一个值")
    if (found := re.match(r"No such command '(.*?)'\.(?:\s*Did you mean '(.*)'\?)?$",
                          message, re.S)):
        guess = f"，是否要用 {found.group(2)}" if found.group(2) else ""
        return BadInput(" ".join(message.split()),
                        message_zh=f"没有命令“{found.group(1)}”{guess}；可用命令见 {help_line}")
    if (found := re.match(r"Got unexpected extra argument\(s\) \((.*)\)$", message, re.S)):
        return BadInput(message, message_zh=f"多余的参数：{found.group(1)}；用法见 {help_line}")
    return BadInput(message, message_zh=f"命令用法有误，用法见 {help_line}")


def _typed_value(param: Any) -> str | None:
    """The value typed for the option ``param`` (the last, if repeated), as the command line
    holds it: click's reasons do not all say it."""
    typed = _typed_values(param)
    return typed[-1] if typed else None


def _typed_values(param: Any) -> list[str]:
    """Every value typed for the option ``param``, as the command line holds them (a path
    typed as "" reaches a callback as "."); none for an argument."""
    if param.param_type_name != "option":
        return []
    words, values = sys.argv[1:], []
    for at, word in enumerate(words):
        for opt in param.opts:
            if word == opt and at + 1 < len(words):
                values.append(words[at + 1])
            elif word.startswith(f"{opt}="):
                values.append(word[len(opt) + 1:])
    return values


def _connection_lost(exc: Exception) -> bool:
    if "sqlalchemy" not in sys.modules:
        return False
    from sqlalchemy import exc as sa_exc

    return isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)
