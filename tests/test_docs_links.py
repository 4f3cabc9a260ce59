"""The README and docs/*.md point at files and at each other: every relative link (and its
``#anchor``), every repository path they name (in backticks or in the prose, such as
``service/workers.py`` or ``tests/conftest.py``), every ``module.function`` they cite
(``analysis/tracking/common.require_reporter``) and every dotted name of the package
(``analysis.vetting.vet_site``, ``layers.catalogue.KINDS``) must exist, so a reader who
follows one lands somewhere."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
TOP = ("layers", "analysis", "service", "web", "tests", "bench", "data", "docs", "blueprint", ".ci")
# Paths a doc asks the reader to create, not ones it says exist.
TO_BE_WRITTEN = {"layers/engine/duckdb.py"}  # docs/architecture.md, "Adding an engine"

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
TOPS = "|".join(re.escape(t) for t in TOP)
REPO_PATH = re.compile(rf"(?<![\w./-])((?:{TOPS})/[\w./*-]*[\w/*])")
DOTTED = re.compile(r"`((?:layers|analysis|service|web)(?:\.[A-Za-z_]\w*)+)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(doc: Path) -> set[str]:
    """The anchors of a Markdown file's headings (outside code blocks)."""
    text = FENCE.sub("", doc.read_text(encoding="utf-8"))
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.*)$", text, re.M)}


def resolves(doc: Path, mention: str) -> bool:
    """Whether a path named in ``doc`` exists (from the repository root or from the doc's
    folder); ``dir/module.name`` also counts when ``dir/module.py`` defines ``name``."""
    path = mention.rstrip("/.")
    if "*" in path:  # a glob: `tests/test_quota_*.py`
        return any(REPO.glob(path)) or any(doc.parent.glob(path))
    if path in TO_BE_WRITTEN or (REPO / path).exists() or (doc.parent / path).exists():
        return True
    module, _, name = path.rpartition(".")
    source = REPO / f"{module}.py"
    return bool(module) and source.is_file() and re.search(
        rf"^\s*(?:def|class|async def)\s+{re.escape(name)}\b|^{re.escape(name)}\s*[:=]",
        source.read_text(encoding="utf-8"), re.M) is not None


def broken_links(doc: Path) -> list[str]:
    """The relative links of ``doc`` whose file or heading does not exist."""
    broken = []
    for target in LINK.findall(doc.read_text(encoding="utf-8")):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = (doc.parent / path) if path else doc
        if not file.exists():
            broken.append(target)
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(target)
    return broken


def missing_paths(doc: Path) -> list[str]:
    """The repository paths ``doc`` names that do not exist."""
    text = doc.read_text(encoding="utf-8")
    mentions = set(REPO_PATH.findall(text))
    return sorted(m for m in mentions if not resolves(doc, m))


def dotted_name_exists(name: str) -> bool:
    """``a.b.c`` under ``blueprint``: the longest importable module, then attributes."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module("blueprint." + ".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(found, attribute):
                return False
            found = getattr(found, attribute)
        return True
    return False


def missing_names(doc: Path) -> list[str]:
    """The dotted names of the package ``doc`` cites in backticks that do not exist."""
    return sorted({n for n in DOTTED.findall(doc.read_text(encoding="utf-8"))
                   if not dotted_name_exists(n)})


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: str(d.relative_to(REPO)))
def test_dotted_names_exist(doc: Path) -> None:
    assert missing_names(doc) == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: str(d.relative_to(REPO)))
def test_relative_links_resolve(doc: Path) -> None:
    assert broken_links(doc) == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: str(d.relative_to(REPO)))
def test_repository_paths_exist(doc: Path) -> None:
    assert missing_paths(doc) == []


def test_the_checker_sees_what_is_broken(tmp_path: Path) -> None:
    doc = tmp_path / "x.md"
    doc.write_text("# Title here\n[a](x.md#title-here) [b](nope.md) [c](x.md#nope) "
                   "[d](https://example.org/)\n`layers/nope.py`, see tests/conftest.py and "
                   "analysis/tracking/common.require_reporter, not analysis/tracking/common.nope; "
                   "`tests/test_quota_*.py` but not `tests/test_nope_*.py`\n",
                   encoding="utf-8")
    assert broken_links(doc) == ["nope.md", "x.md#nope"]
    assert missing_paths(doc) == ["analysis/tracking/common.nope", "layers/nope.py",
                                   "tests/test_nope_*.py"]
    assert slug("The quota dashboard (`/quota`)") == "the-quota-dashboard-quota"
    doc.write_text("`analysis.vetting.vet_site`, `layers.catalogue.KINDS`, "
                   "`analysis.vetting.no_such`, `layers.no_such_module`", encoding="utf-8")
    assert missing_names(doc) == ["analysis.vetting.no_such", "layers.no_such_module"]
