"""``lpzero-gp spaces``: the search spaces, their variants, records and named proxies."""

from __future__ import annotations

import json
from typing import Any

import click

from lpzero_gp.cli import options as o
from lpzero_gp.cli.output import out


def best_proxies() -> dict[str, dict[str, dict[str, Any]]]:
    """Per space, our searched (``*-best``) proxies with the figures recorded for them."""
    from lpzero_gp.proxy.named import shipped_best

    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, entry in shipped_best().items():
        # a proxy searched for several spaces (``per_space``) is listed under each of them
        per_space = entry.get("per_space") or {entry.get("space", ""): entry}
        for space, own in per_space.items():
            figures = {split: own[split] for split in ("search", "validation", "test")
                       if isinstance(own.get(split), dict)}
            out.setdefault(space, {})[name] = {
                "proxy": entry["proxy"], "variant": own.get("variant"),
                "semantics": own.get("semantics", entry.get("semantics")),
                "command": entry.get("command"), "spaces": entry.get("spaces", [space]),
                "reproducible": entry.get("reproducible", True),
                "information": own.get("information"), "cost": entry.get("cost"), **figures}
    return out


def listing() -> dict[str, dict[str, Any]]:
    """Per registered or installed space: variants, default variant, packaged records, ground
    truth, feature proxies, benchmark format and our named best proxies. A space that cannot
    be opened is listed with the reason."""
    from lpzero_gp.errors import LpzeroError
    from lpzero_gp.spaces import get_space, names

    best = best_proxies()
    out: dict[str, dict[str, Any]] = {}
    for name in names():
        try:
            s = get_space(name)
            out[name] = {"variants": list(s.variants), "default_variant": s.default_variant,
                         "records": s.packaged_size(), "truth": s.truth_label,
                         "features": list(s.feature_names), "format": s.benchmark_format}
        except (LpzeroError, ImportError, OSError) as exc:
            out[name] = {"error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}
        out[name]["best_proxies"] = best.get(name, {})
    return out


def _figures(entry: dict[str, Any]) -> str:
    """``test rho 0.921 [0.905, 0.934], tau 0.791 (n=400); validation ...`` of a best proxy."""
    parts = []
    for split in ("test", "validation", "search"):
        f = entry.get(split)
        if not f:
            continue
        ci = f.get("rho_ci95")
        interval = f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""
        tau = f", tau {f['tau']:.3f}" if f.get("tau") is not None else ""
        parts.append(f"{split} rho {f['rho']:.3f}{interval}{tau} (n={f['n']})")
    return "; ".join(parts)


def _named_lines() -> list[str]:
    """Every named proxy once, its other names beside it."""
    from lpzero_gp.proxy.named import NAMED

    by_text: dict[str, list[str]] = {}
    for name, text in NAMED.items():
        by_text.setdefault(text, []).append(name)
    lines = []
    for text, names in by_text.items():
        main = next((n for n in names if "_" in n), names[0])
        also = ", ".join(n for n in names if n != main)
        lines.append(f"  {main}{f' (also {also})' if also else ''}: {text}")
    return lines


@click.command("spaces")
@o.as_json()
def spaces_command(as_json: bool) -> None:
    """List the search spaces with their variants, benchmark sizes and best proxies, and every
    named proxy."""
    from lpzero_gp.proxy.named import NAMED

    found = listing()
    if as_json:
        out([json.dumps({"spaces": found, "named_proxies": NAMED}, indent=2)], keep="\t\n")
        return
    lines = []
    for name, d in found.items():
        if "error" in d:
            lines.append(f"{name}: unavailable ({d['error']})")
        else:
            records = "no packaged benchmark (give --benchmark FILE)" if d["records"] is None \
                else f"{d['records']} architectures"
            variants = f"variant {d['default_variant']}" if len(d["variants"]) == 1 else \
                f"variants {', '.join(d['variants'])} (default {d['default_variant']})"
            lines.append(f"{name}: {records}; {variants}; truth: {d['truth']}; feature "
                         f"proxies: {', '.join(d['features'])}")
        for proxy, entry in d["best_proxies"].items():
            where = ", ".join(x for x in (entry["variant"], entry["semantics"]) if x)
            again = "" if entry["reproducible"] else " (its search command does not find it " \
                "again; the scores reproduce)"
            info = entry.get("information")
            label = f" [{info['label']} on test, {entry.get('cost')}]" if info else ""
            several = entry["spaces"]
            kind = f"cross-space proxy ({', '.join(several)})" if len(several) > 1 else \
                "best proxy"
            lines.append(f"  {kind} {proxy} ({where}): {_figures(entry)}{label}{again}")
    out([*lines, "named proxies:", *_named_lines()])


__all__ = ["spaces_command"]
