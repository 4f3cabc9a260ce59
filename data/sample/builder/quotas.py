"""The 2026 yearly quotas of each county (``quotas.csv``)."""

from __future__ import annotations

import csv
import io

from .city import City

# kind, unit, base amount, amount per 1,100 km² of county, random factor range, decimals
QUOTAS = [
    ("new_construction_land", "ha", 95, 40, (0.9, 1.1), 4),
    ("cultivated_balance", "ha", 70, 30, (0.8, 1.1), 4),
    ("energy", "tce", 90000, 40000, (0.8, 1.2), 1),
    ("coal", "t", 60000, 30000, (0.8, 1.2), 1),
    ("emission_SO2", "t", 110, 40, (0.8, 1.2), 3),
    ("emission_NOx", "t", 220, 80, (0.8, 1.2), 3),
    ("emission_COD", "t", 160, 60, (0.8, 1.2), 3),
    ("emission_NH3N", "t", 16, 6, (0.8, 1.2), 3),
    ("emission_VOCs", "t", 180, 70, (0.8, 1.2), 3),
    ("emission_PM", "t", 90, 35, (0.8, 1.2), 3),
]


def write_quotas(c: City) -> None:
    """Write ``quotas.csv``: one row per county and quota kind, larger for bigger counties."""
    rows = []
    for code in sorted(c.codes):
        urban = 1.7 if code == "371502" else 1.0
        f = c.county[code].area / 1e6 / 1100.0
        for kind, unit, base, per, (lo, hi), nd in QUOTAS:
            v = (base + per * f) * urban * c.rng.uniform(lo, hi)
            rows.append([2026, code, c.names[code], kind, f"{v:.{nd}f}", unit])
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    wr.writerow(["year", "county_code", "county_name", "kind", "amount", "unit"])
    wr.writerows(rows)
    (c.out / "quotas.csv").write_text(buf.getvalue(), encoding="utf-8")
