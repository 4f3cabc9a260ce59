"""``blueprint sample load``: the sample city (Liaocheng)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from blueprint.service.cli.console import open_store, out, progress_bar
from blueprint.service.context import local_actor

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "data" / "sample"

sample_app = typer.Typer(help="The sample city (Liaocheng).", no_args_is_help=True)


@sample_app.command("load")
def sample_load(path: Annotated[Path, typer.Option(help="Sample folder")] = SAMPLE_DIR) -> None:
    """Import the sample city's layers, grant its yearly quotas and add its demo projects
    with a year of tracking (plans and monthly reports)."""
    from blueprint.analysis.sample import load_sample

    store = open_store()
    with progress_bar() as bar:
        tasks: dict[str, Any] = {}

        def step(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(f"导入 {name}", total=total)
            bar.update(tasks[name], completed=done)

        reports = load_sample(path, store=store, actor=local_actor(), progress=step)
    from blueprint.analysis.tracking.sample import load_tracking_sample

    codes = load_tracking_sample(path, store=store)
    for r in reports:
        if r.unchanged:
            out.print(r.warnings[0], markup=False)
            continue
        fixed = f"，修复无效几何 {r.repaired} 个" if r.repaired else ""
        count = f"栅格 {len(r.bands)} 个波段" if r.bands else f"{r.feature_count} 个要素"
        out.print(f"已导入 {r.title} [{r.name}]：{count}{fixed}", markup=False)
    if codes:
        out.print(f"已创建样例项目 {len(codes)} 个（含一年的跟踪计划与月报）：{codes[0]} 至 "
                  f"{codes[-1]}", markup=False)
