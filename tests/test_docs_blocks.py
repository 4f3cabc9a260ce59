"""The command blocks of docs/*.md run as written, in order, on the sample city, as the
README's tour does (tests/test_readme_tour.py): the numbers they name (operations 83, 87,
89 in quota.md; rounds 7 and 8 in projects.md; problem 2 in tracking.md) are the ones the
commands before them made, and every file they read is in the repository."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.helpers import reader_shell

REPO = Path(__file__).resolve().parent.parent
SAMPLE = ["blueprint sample load"]
# (doc, the heading the block follows, what runs first)
BLOCKS = [
    ("docs/quota.md", "## Commands",
     [*SAMPLE, "blueprint users add city_manager --role city_quota_manager"]),
    ("docs/tracking.md", "## Commands", SAMPLE),
    ("docs/projects.md", "## The edges: CLI and HTTP API", SAMPLE),
    ("docs/site-selection.md", "# ", SAMPLE),
    ("docs/reliability.md", "## The hash chain", SAMPLE),
]


def block_commands(doc: str, heading: str) -> list[str]:
    """The first ``bash`` block after ``heading``: continued lines joined, comment-only
    lines dropped."""
    section = (REPO / doc).read_text(encoding="utf-8").split(heading, 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, f"{doc}: no bash block after {heading!r}"
    commands, current = [], ""
    for line in block.group(1).splitlines():
        current += line.rstrip().removesuffix("\\") + " "
        if line.rstrip().endswith("\\"):
            continue
        if shlex.split(current, comments=True):
            commands.append(current.strip())
        current = ""
    return commands


@pytest.mark.parametrize(("doc", "heading", "setup"), BLOCKS, ids=[b[0] for b in BLOCKS])
def test_the_block_runs_as_written(doc: str, heading: str, setup: list[str],
                                   tmp_path: Path) -> None:
    work, env = reader_shell(tmp_path, "work")
    # one shell, as a reader types them: a variable one line sets is there on the next
    script = "\n".join(["set -eo pipefail",
                        "trap 'echo \"failed: $BASH_COMMAND\" >&2' ERR",
                        *setup, *block_commands(doc, heading)])
    done = subprocess.run(["bash", "-c", script], cwd=work, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, f"{doc}:\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}"


def test_the_blocks_are_read_whole() -> None:
    quota = block_commands("docs/quota.md", "## Commands")
    assert quota[0].startswith("blueprint quota grant ") and len(quota) >= 19
    assert any(c.startswith("blueprint quota movements ") and "--offset 0" in c for c in quota)
    projects = block_commands("docs/projects.md", "## The edges: CLI and HTTP API")
    assert projects[0].startswith("blueprint projects create") and "--site data/" in projects[0]
