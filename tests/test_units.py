"""One units module: every 亩 figure goes through layers.units."""

from __future__ import annotations

import re
from pathlib import Path

from blueprint.layers.units import M2_PER_MU, m2_to_ha, m2_to_mu

ROOT = Path(__file__).resolve().parents[1]


def test_factors() -> None:
    assert m2_to_ha(10_000) == 1
    assert m2_to_mu(10_000) == 15
    assert round(M2_PER_MU, 2) == 666.67


def test_no_other_module_defines_the_mu_factor() -> None:
    pattern = re.compile(r"MU_PER_\w+\s*=|\*\s*15\b|\b15\s*/\s*10_?000|666\.6")
    found = [str(p.relative_to(ROOT)) for pkg in ("layers", "analysis", "service", "web")
             for p in (ROOT / pkg).rglob("*.py")
             if p.name != "units.py" and pattern.search(p.read_text(encoding="utf-8"))]
    assert found == []
