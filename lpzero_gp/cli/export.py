"""``lpzero-gp export``: a proxy as a string, SymPy, srepr, LaTeX or JSON."""

from __future__ import annotations

import click


@click.command("export")
@click.option("--proxy", required=True,
              help="Proxy in any exported form (string, SymPy, srepr, LaTeX, JSON), named proxy, "
                   "JSON file (best.json) or results folder.")
@click.option("--format", "fmt_", type=click.Choice(["string", "sympy", "srepr", "latex",
                                                     "json"]), default="latex",
              show_default=True)
def export_command(proxy: str, fmt_: str) -> None:
    """Export a proxy as SymPy, LaTeX or JSON (every form reads back as --proxy)."""
    from lpzero_gp.proxy.export import render
    from lpzero_gp.proxy.read import read_proxy

    click.echo(render(read_proxy(proxy), fmt_))
