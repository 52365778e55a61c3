"""``lpzero-gp spaces``: the search spaces, their variants, records and named proxies."""

from __future__ import annotations

import json
from typing import Any

import click

from lpzero_gp.cli import options as o


def listing() -> dict[str, dict[str, Any]]:
    """Per space: variants, default variant, packaged records, ground truth, feature proxies,
    and the benchmark file format (built-in and plugin spaces alike)."""
    from lpzero_gp.spaces import get_space, names

    out = {}
    for name in names():
        s = get_space(name)
        out[name] = {"variants": list(s.variants), "default_variant": s.default_variant,
                     "records": s.packaged_size(), "truth": s.truth_label,
                     "features": list(s.feature_names), "format": s.benchmark_format}
    return out


@click.command("spaces")
@o.as_json()
def spaces_command(as_json: bool) -> None:
    """List the search spaces, their variants, records and named proxies."""
    from lpzero_gp.proxy.named import NAMED

    out = listing()
    if as_json:
        click.echo(json.dumps({"spaces": out, "named_proxies": NAMED}, indent=2))
        return
    for name, d in out.items():
        records = "no packaged benchmark" if d["records"] is None else \
            f"{d['records']} architectures"
        click.echo(f"{name}: {records}; variants {', '.join(d['variants'])}"
                   f" (default {d['default_variant']}); truth: {d['truth']}; feature proxies:"
                   f" {', '.join(d['features'])}")
    click.echo("named proxies:")
    for k, v in NAMED.items():
        if "_" in k:
            click.echo(f"  {k}: {v}")
