"""``lpzero-gp export``: a proxy as a string, SymPy, srepr, LaTeX or JSON."""

from __future__ import annotations

import os
from pathlib import Path

import click

from lpzero_gp.errors import OptionError


@click.command("export")
@click.option("--proxy", required=True,
              help="Proxy string, named proxy, results folder or best.json.")
@click.option("--format", "fmt_", type=click.Choice(["string", "sympy", "srepr", "latex",
                                                     "json"]), default="latex",
              show_default=True)
def export_command(proxy: str, fmt_: str) -> None:
    """Export a proxy as SymPy, LaTeX or JSON."""
    from lpzero_gp.proxy.export import proxy_from_source, render

    if ("/" in proxy or os.sep in proxy or proxy.endswith(".json")) and not Path(proxy).exists():
        raise OptionError(f"no such file or folder: {proxy}")
    try:
        text = proxy_from_source(proxy)
    except UnicodeDecodeError:
        raise OptionError(f"{proxy} is not a proxy JSON file (not UTF-8 text)") from None
    click.echo(render(text, fmt_))
