"""The README's five-minute tour, run as a new user would type it: every command of its
``bash`` block in order, in a fresh folder with the sample city loaded, must succeed; the
README says it and this keeps it true (the round number it answers, the project codes it
names and the files it writes all depend on the sample and the commands before)."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.helpers import reader_shell

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "tour-password-2026"


def tour_commands(readme: str) -> list[str]:
    """The tour's commands: the first ``bash`` block after "A five-minute tour", lines
    continued with a backslash joined, comments and blank lines dropped."""
    section = readme.split("## A five-minute tour", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "the README's tour has no bash block"
    commands, current = [], ""
    for line in block.group(1).splitlines():
        current += line.rstrip().removesuffix("\\") + " "
        if line.rstrip().endswith("\\"):
            continue
        if shlex.split(current, comments=True):  # not a comment-only line
            commands.append(current.strip())
        current = ""
    return commands


def test_the_tour_is_read_whole() -> None:
    commands = tour_commands((REPO / "README.md").read_text(encoding="utf-8"))
    assert commands[0].startswith("blueprint layers list")
    assert any(c.startswith("blueprint consult answer 7 ") for c in commands)
    assert any("--investment 12.5 --unit" in c for c in commands)  # continued lines joined
    assert not any(c.startswith("#") for c in commands)


def test_every_tour_command_succeeds(tmp_path: Path) -> None:
    work, env = reader_shell(tmp_path, "tour")

    def run(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], cwd=work,
                              env=env, input=f"{PASSWORD}\n{PASSWORD}\n", text=True,
                              capture_output=True, timeout=300, check=False)

    loaded = run("blueprint sample load")  # the README's first set-up command, in part
    assert loaded.returncode == 0, loaded.stderr
    outputs = {}
    for command in tour_commands((REPO / "README.md").read_text(encoding="utf-8")):
        done = run(command)
        assert done.returncode == 0, (f"README tour: `{command}` exited {done.returncode}\n"
                                      f"{done.stdout[-1500:]}\n{done.stderr[-1500:]}")
        outputs[command] = done.stdout
    # what the tour says it does, it did
    assert (work / "site.geojson").stat().st_size > 0
    assert (work / "初审意见书.pdf").read_bytes()[:5] == b"%PDF-"
    assert (work / "movements.xlsx").read_bytes()[:2] == b"PK"
    assert len((work / "reports.jsonl").read_text(encoding="utf-8").splitlines()) > 1
    shown = next(out for cmd, out in outputs.items()
                 if cmd.startswith("blueprint projects show LC-2026-0001"))
    assert "生态环境局：有条件同意" in shown  # the answer went to the tour's own round


if __name__ == "__main__":  # pragma: no cover - print the commands
    print("\n".join(tour_commands((REPO / "README.md").read_text(encoding="utf-8"))))
    pytest.main([__file__])
