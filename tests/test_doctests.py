"""The examples in the code's docstrings (``>>>``) hold: each module of ``layers/``,
``analysis/``, ``service/`` and ``web/`` that has one is run through :mod:`doctest`, under
its installed name (``blueprint.…``). An example that no longer matches what the code does
fails here instead of misleading a reader."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("layers", "analysis", "service", "web")


def _modules_with_examples() -> list[str]:
    found = []
    for part in PARTS:
        for path in sorted((ROOT / part).rglob("*.py")):
            if "migrations" in path.parts or ">>> " not in path.read_text(encoding="utf-8"):
                continue
            dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found.append("blueprint." + dotted.removesuffix(".__init__"))
    return found


MODULES = _modules_with_examples()


def test_modules_with_examples_are_found() -> None:
    assert len(MODULES) >= 40, MODULES  # the walk itself works: most of them have examples
    assert "blueprint.layers.kinds" in MODULES and "blueprint.analysis.clock" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             verbose=False, report=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
