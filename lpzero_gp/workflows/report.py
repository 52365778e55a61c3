"""Results folders (written atomically), tables and plots."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

#: What the search progress bar's counters mean (said when a run starts, unless quiet).
PROGRESS_KEY = ("progress: evals counts the offspring evaluated (proxies scored so far, the "
                "initial population included); an offspring whose proxy was scored before is a "
                "cache hit (hits) and is not evaluated again, so evals ends below the budget; "
                "regen counts children redrawn because RPS rejected them or they duplicated a "
                "living proxy; distinct is the number of distinct proxies in the population / "
                "its size (diversity)")
#: Below this many architectures a rank correlation is reported with its 95% interval and a
#: "small sample" note: its uncertainty is then of the order of the differences between proxies.
SMALL_SAMPLE = 20


def fmt(x: float, digits: int = 3) -> str:
    """A number for a table ('-' for nan)."""
    return "-" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


#: The fitness's mark of an invalid proxy (``score.fitness.INVALID_FITNESS``, below every real
#: correlation; not imported, to keep this module light).
_INVALID = -2.0


def is_invalid(rho: float | None) -> bool:
    """Whether a correlation is missing: None, nan, or the fitness's invalid mark."""
    return rho is None or not np.isfinite(rho) or rho <= _INVALID


def corr(rho: float | None, reason: str = "", digits: int = 3) -> str:
    """A correlation for a table, or ``invalid (<reason>)`` when it is undefined (never the
    fitness's invalid mark as a number)."""
    if is_invalid(rho):
        return f"invalid ({reason or 'undefined'})"
    return f"{rho:.{digits}f}"


def signed(x: float, digits: int = 3) -> str:
    """A difference with its sign (a true minus sign; '-' alone for nan)."""
    if x is None or not np.isfinite(x):
        return "-"
    return f"{x:+.{digits}f}".replace("-", "−")


def bracket(ci: Sequence[float] | None, digits: int = 3) -> str:
    """`` [a, b]`` of an interval (empty without one)."""
    if not ci:
        return ""
    return f" [{fmt(ci[0], digits)}, {fmt(ci[1], digits)}]"


def _finite(ci: Sequence[float] | None) -> bool:
    return bool(ci) and all(x is not None and np.isfinite(x) for x in ci)


def interval_cell(ci: Sequence[float] | None, reason: str = "", digits: int = 3) -> str:
    """`` [a, b]`` of an interval, followed by `` (<reason>)`` when it is degenerate; `` (no
    interval: <reason>)`` where it could not be computed; empty where none was asked for
    (``reason``: :func:`~lpzero_gp.score.correlate.interval_reason`)."""
    if _finite(ci):
        return bracket(ci, digits) + (f" ({reason})" if reason else "")
    if ci:
        return f" (no interval: {reason or 'undefined'})"
    return ""


def with_interval(entry: Mapping) -> str:
    """A correlation entry (``rho``, ``reason``, ``ci``, ``ci_reason``) as ``0.500 [0.100,
    0.800]``, ``invalid (<reason>)``, or with why its interval is missing or degenerate."""
    if is_invalid(entry["rho"]):
        return corr(entry["rho"], entry.get("reason", ""))
    return corr(entry["rho"]) + interval_cell(entry.get("ci"), entry.get("ci_reason", ""))


def controlled_text(row: Mapping) -> tuple[str, str]:
    """The ``partial|<size>`` and ``within <group>`` cells of a report row (with intervals,
    and why one is missing or degenerate)."""
    return with_interval(row["partial"]), with_interval(row["within"])


def controlled_names(row: Mapping) -> tuple[str, str]:
    """Column names saying what a row's partial and within correlations control for."""
    given, by = row["partial"]["given"], row["within"]["by"]
    return (f"partial|{given}" if given else "partial", f"within {by}" if by else "within")


def panel_caption(rho: float, row: Mapping) -> str:
    """A plot panel's caption: rho, and the partial and within correlations of ``row`` (each
    only where the space has the feature it controls for)."""
    def short(x: float) -> str:
        return "invalid" if is_invalid(x) else f"{x:.3f}"

    pname, wname = controlled_names(row)
    parts = [f"{pname} {short(row['partial']['rho'])}" if row["partial"]["given"] else "",
             f"{wname} {short(row['within']['rho'])}" if row["within"]["by"] else ""]
    return f"rho {short(rho)}\n" + ", ".join(p for p in parts if p)


def paired_text(entry: Mapping) -> str:
    """``A vs B: Δrho +0.008 [−0.002, +0.020], P(Δ≤0)=0.057`` of a paired comparison."""
    head = f"{entry['a']} vs {entry['b']}: "
    if entry["reason"]:
        return head + f"invalid ({entry['reason']})"
    low, high = entry["ci"]
    return (f"{head}Δrho {signed(entry['diff'])} [{signed(low)}, {signed(high)}], "
            f"P(Δ≤0)={entry['p_le_zero']:.3f}")


def metric_label(truth_label: str, higher_is_better: bool) -> str:
    """The ground truth in its own units: a lower-is-better metric stored negated is named
    without its 'negative' (plots show the metric itself)."""
    if higher_is_better:
        return truth_label
    label = truth_label
    for prefix in ("negative ", "minus "):
        if label.lower().startswith(prefix):
            label = label[len(prefix):]
    return label.replace("; stored negated, so higher is better", "")


def is_small(n: int) -> bool:
    """Whether a correlation on ``n`` architectures is a small-sample one."""
    return n < SMALL_SAMPLE


def sample_note(n: int) -> str | None:
    """The warning a correlation on fewer than :data:`SMALL_SAMPLE` architectures carries."""
    if not is_small(n):
        return None
    return (f"small sample (n={n}): read the correlation with its 95% interval; fewer than "
            f"{SMALL_SAMPLE} architectures rank proxies only roughly")


def ci_text(ci: Mapping[str, Sequence[float]] | None, key: str | Sequence[str] = "rho",
            reason: str = "") -> str:
    """``rho 95% CI [a, b]`` (``key`` may name several: ``rho ...  tau ...``); an interval that
    could not be computed reads ``none``, and a missing or degenerate one is followed by
    ``(<reason>)`` once. Empty without intervals (none asked for)."""
    if not ci:
        return ""
    keys = [key] if isinstance(key, str) else list(key)
    parts = [f"{k} 95% CI " + (f"[{fmt(ci[k][0])}, {fmt(ci[k][1])}]" if _finite(ci[k])
                               else "none") for k in keys]
    return "  ".join(parts) + (f" ({reason})" if reason else "")


def versus_free(proxy_rho: float, baselines: Mapping[str, Mapping], free: Sequence[str],
                comparisons: Sequence[Mapping] = ()) -> dict:
    """Whether the searched proxy beats the best free row on held-out: the free row (a config
    feature or the config formula, among ``free``) with the highest held-out Spearman in
    ``baselines``, both correlations, ``beats`` (strictly higher), and the one-sided paired
    bootstrap P(Δrho <= 0) against that row when ``comparisons`` holds it (else None). Empty
    when no free row has a defined correlation."""
    rhos = {k: baselines[k]["rho"] for k in free
            if k in baselines and not is_invalid(baselines[k]["rho"])}
    if not rhos:
        return {}
    best = max(rhos, key=lambda k: rhos[k])  # the first of equals, in report order
    paired = next((c for c in comparisons if c["b"] == best and not c["reason"]), None)
    valid = not is_invalid(proxy_rho)
    return {"best_free": best, "rho_best_free": rhos[best],
            "rho_proxy": proxy_rho if valid else float("nan"),
            "beats": valid and proxy_rho > rhos[best],
            "p_le_zero": None if paired is None else paired["p_le_zero"]}


def free_line(entry: Mapping) -> str | None:
    """The line saying that the searched proxy does not beat the best free row on held-out
    (:func:`versus_free`), with the paired P where one was computed; None when it does."""
    if not entry or entry["beats"]:
        return None
    best, theirs = entry["best_free"], fmt(entry["rho_best_free"])
    if is_invalid(entry["rho_proxy"]):
        return (f"the searched proxy is invalid on held-out; the free row {best} reaches "
                f"Spearman {theirs}")
    p = entry.get("p_le_zero")
    paired = "" if p is None else f"; paired bootstrap P(Δrho ≤ 0) = {p:.3f}"
    return (f"the searched proxy does not beat the free row {best} on held-out: Spearman "
            f"{fmt(entry['rho_proxy'])} vs {theirs}{paired}")


def statistics_line(extractor) -> str | None:
    """Where the statistics came from: the cache (and which), models built, or nothing kept."""
    ex = extractor
    where = f" ({ex.cache.parent})" if ex.cache is not None else ""
    if ex.loaded and not ex.built:
        return (f"statistics of all {ex.loaded} architectures loaded from the cache{where} "
                "(no model built)")
    if ex.loaded:
        return f"statistics: {ex.loaded} from the cache{where}, {ex.built} models built"
    if ex.built and ex.cache is None:
        return (f"statistics: {ex.built} models built and not kept (no cache: the next "
                "command builds them again)")
    return None


def missing_note(what: str, ids: Sequence[str]) -> str | None:
    """The note for architectures left out of a side-by-side table (None if none are)."""
    if not ids:
        return None
    shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
    return (f"{len(ids)} {what} architecture{'' if len(ids) == 1 else 's'} without statistics "
            f"left out of every row, so all proxies are ranked on the same ones: {shown}")


def markdown_cell(value: object) -> str:
    """``value`` as one Markdown table cell: ``|`` escaped and line breaks made spaces, so no
    text (an id, a label) can end the cell or the row early."""
    return " ".join(str(value).replace("|", "\\|").splitlines())


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A Markdown table (every cell through :func:`markdown_cell`)."""
    out = ["| " + " | ".join(map(markdown_cell, header)) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(map(markdown_cell, r)) + " |" for r in rows]
    return "\n".join(out) + "\n"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_generations(logbook: list[dict], path: Path, title: str,
                     validation: Sequence[float] | None = None,
                     validation_label: str = "held-out", population: int | None = None) -> None:
    """Best and median Spearman rho per generation on the search architectures, and with
    ``validation`` the rho of each generation's best proxy on other architectures. With
    ``population`` and a logbook that counts them (``distinct``), the share of distinct
    proxies in the population on a right-hand axis (how diverse the search still is)."""
    plt = _pyplot()
    gens = [r["gen"] for r in logbook]
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=110)
    ax.plot(gens, [r["best"] for r in logbook], marker="o", ms=3, label="best (search)")
    ax.plot(gens, [r["median"] for r in logbook], ls="--", label="median (search, valid)")
    if validation is not None:
        ax.plot(gens, [np.nan if is_invalid(v) else v for v in validation], marker="s", ms=3,
                label=f"best proxy on {validation_label}")
    ax.set_xlabel("generation")
    ax.set_ylabel("Spearman rho" if validation is not None
                  else "Spearman rho (search architectures)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if population and logbook and all("distinct" in r for r in logbook):
        right = ax.twinx()
        line, = right.plot(gens, [r["distinct"] / population for r in logbook], color="0.5",
                           lw=1, ls=":", label="distinct proxies / population")
        right.set_ylim(0, 1.05)
        right.set_ylabel("distinct / population", fontsize=8)
        handles, labels = handles + [line], labels + [line.get_label()]
    ax.legend(handles, labels, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)


def _ranks(x: Sequence[float]) -> np.ndarray:
    from lpzero_gp.score.fitness import rankdata

    return rankdata(np.asarray(x, dtype=float))


def control_features(loaded, records: Sequence) -> tuple[tuple, tuple]:
    """(name, values) of the space's size and group features on ``records`` ((None, None)
    for a feature the space does not declare); ``loaded``: the space and variant loaded."""
    feats = [loaded.space.features(r, loaded.variant) for r in records]
    out = []
    for name in (loaded.space.size_feature, loaded.space.group_feature):
        ok = name is not None and bool(feats) and name in feats[0]
        out.append((name, np.array([f[name] for f in feats], dtype=float)) if ok
                   else (None, None))
    return out[0], out[1]


def plot_ranks(panels: Sequence[tuple[str, Sequence[float], str]], truth: Sequence[float],
               path: Path, title: str, truth_label: str, higher_is_better: bool = True,
               groups: Sequence[float] | None = None, group_name: str | None = None) -> None:
    """Rank of each proxy's score against rank of the truth, one small panel per proxy.

    ``panels`` holds (name, scores, caption) per panel, all on the same architectures;
    ``truth`` is the stored ground truth (higher is better), so a proxy that ranks perfectly
    lies on the diagonal. Points are coloured by ``groups`` (e.g. depth). The truth axis is
    labelled with the metric itself: for a lower-is-better metric (perplexity) the top is its
    lowest value, and the right-hand axis shows the metric's values at a few ranks.
    """
    plt = _pyplot()
    t = np.asarray(truth, dtype=float)
    rt, n = _ranks(t), len(t)
    cols = min(len(panels), 4)
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols + 0.8, 3.3 * rows + 0.6), dpi=110,
                             sharex=True, sharey=True, squeeze=False)
    g = None if groups is None else np.asarray(groups, dtype=float)
    levels = [] if g is None else sorted(set(g.tolist()))
    cmap = plt.get_cmap("viridis")
    colour = {v: cmap(k / max(len(levels) - 1, 1)) for k, v in enumerate(levels)}
    for k, (name, scores, caption) in enumerate(panels):
        ax = axes[k // cols][k % cols]
        rs = _ranks(scores)
        if g is None:
            ax.scatter(rs, rt, s=10, alpha=0.7, lw=0)
        else:
            for v in levels:
                m = g == v
                ax.scatter(rs[m], rt[m], s=10, alpha=0.75, lw=0, color=colour[v],
                           label=f"{v:g}")
        ax.plot([1, n], [1, n], color="0.6", lw=0.8, ls=":")
        ax.set_title(f"{name}\n{caption}" if caption else name, fontsize=8)
        ax.grid(alpha=0.3)
        if k // cols == rows - 1:
            ax.set_xlabel("rank of score (right: ranked better)", fontsize=8)
    for k in range(len(panels), rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    metric = metric_label(truth_label, higher_is_better)
    where = "top: highest" if higher_is_better else "top: lowest"
    for r in range(rows):
        axes[r][0].set_ylabel(f"rank of truth ({where}, best)\n{metric}", fontsize=8)
    last = axes[0][min(len(panels), cols) - 1]
    values = t if higher_is_better else -t
    order = np.argsort(t, kind="stable")
    at = np.unique(np.linspace(0, n - 1, min(n, 5)).round().astype(int))
    right = last.twinx()
    right.set_ylim(last.get_ylim())
    right.set_yticks(rt[order][at])
    right.set_yticklabels([f"{values[order][i]:.4g}" for i in at], fontsize=7)
    if levels and len(levels) <= 12:
        axes[0][0].legend(title=group_name, fontsize=7, title_fontsize=7, markerscale=1.5,
                          loc="upper left", frameon=True)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    if len(levels) > 12:  # too many groups for a legend: a colour bar of the group values
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize

        bar = fig.colorbar(ScalarMappable(Normalize(levels[0], levels[-1]), cmap),
                           ax=axes.ravel().tolist(), pad=0.1, fraction=0.02)
        bar.set_label(group_name or "group", fontsize=8)
        bar.ax.tick_params(labelsize=7)
    fig.savefig(path, metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)


def info_text(row: Mapping) -> str:
    """``statistics-driven (real~null 0.12), backward`` of a report row: the information label
    with its real-vs-null rho, and the cost class ('' for a row without them)."""
    info = row.get("information")
    if not info:
        return ""
    rho = info.get("rho_real_null")
    what = info["label"]
    if info["label"] not in ("config", "null control"):
        what += f" (real~null {fmt(rho)}, config~proxy {fmt(info.get('rho_config'))})"
    flag = ", precision-limited" if row.get("precision_limited") else ""
    return f"{what}, {row.get('cost', '-')}{flag}"


def cost_line(cost: dict) -> str:
    """What the cost classes cost here: the median measured seconds per architecture."""
    if not cost.get("n"):
        return "cost per architecture: not measured (no statistics with timings were used)"
    return (f"cost per architecture (median of {cost['n']} measured): weights {cost['build']:.2f} "
            f"s (model build); forward/backward {cost['build'] + cost['statistics']:.2f} s "
            "(build, forward, backward and compaction together; not timed apart)")

__all__ = [
    "PROGRESS_KEY", "SMALL_SAMPLE", "bracket", "ci_text", "control_features", "controlled_names",
    "controlled_text",
    "corr", "cost_line", "fmt", "free_line", "info_text", "interval_cell", "is_small",
    "markdown_cell", "markdown_table", "metric_label", "missing_note", "paired_text",
    "panel_caption", "plot_generations", "plot_ranks", "sample_note", "signed",
    "statistics_line", "versus_free", "with_interval",
]
