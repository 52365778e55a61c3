"""scripts/plot_fronts.py and ``workflows.front.draw_front``: several fronts in one figure, each
drawn as its run's front.png is, with the free config rows."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from run_check import load_script

ROWS = [
    {"proxy": "agg_sum(l1(W))", "search_rho": 0.8, "heldout_rho": 0.79, "cost": "weights",
     "seconds_per_arch": 0.18, "size": 3},
    {"proxy": "agg_sum(std(H))", "search_rho": 0.85, "heldout_rho": 0.9, "cost": "forward",
     "seconds_per_arch": 1.9, "size": 3},
]


def _run_folder(path: Path, space: str) -> Path:
    path.mkdir()
    with open(path / "front.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(ROWS[0]))
        writer.writeheader()
        writer.writerows(ROWS)
    base = {"layers": {"rho": 0.85, "cost": "config"},
            "config-formula": {"rho": 0.88, "cost": "config"},
            "paper_proxy": {"rho": -0.9, "cost": "weights"}}
    (path / "summary.json").write_text(json.dumps(
        {"space": space, "heldout": {"split": "validation", "n": 50},
         "baselines_heldout": base}))
    return path


def test_free_rows_are_the_config_rows_only(tmp_path):
    mod = load_script("plot_fronts")
    summary = json.loads((_run_folder(tmp_path / "a", "x") / "summary.json").read_text())
    assert mod.free_rows(summary) == {"layers": 0.85, "config-formula": 0.88}
    rows = mod.front_csv_rows(tmp_path / "a")
    assert rows[0]["heldout_rho"] == 0.79 and rows[1]["size"] == 3


def test_one_panel_per_run_each_with_its_front_and_free_rows(tmp_path):
    from lpzero_gp.workflows.front import draw_front
    from lpzero_gp.workflows.report import _pyplot

    mod = load_script("plot_fronts")
    folders = [_run_folder(tmp_path / s, s) for s in ("flexibert", "llama")]
    out = tmp_path / "img" / "fronts.png"
    mod.main([str(f) for f in folders] + ["--out", str(out)])
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plt = _pyplot()
    fig, ax = plt.subplots()
    draw_front(ax, ROWS, {"layers": 0.85}, "t")
    points = sum(len(c.get_offsets()) for c in ax.collections)
    assert points == len(ROWS) + 1  # the two front proxies and the free row
    assert ax.get_title() == "t"
    plt.close(fig)
