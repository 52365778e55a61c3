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
@click.option("--literal", is_flag=True,
              help="Keep the proxy exactly as written (every primitive, in order) in the SymPy, "
                   "srepr and LaTeX forms, instead of its canonical form.")
def export_command(proxy: str, fmt_: str, literal: bool) -> None:
    """Export a proxy as SymPy, LaTeX or JSON (every form reads back as --proxy).

    The SymPy, srepr and LaTeX forms are canonical unless --literal; when the canonical form
    leaves out part of the proxy, a note on stderr says what.
    """
    from lpzero_gp.proxy.export import export, note, text_of
    from lpzero_gp.proxy.read import read_proxy

    d = export(read_proxy(proxy), literal=literal)
    click.echo(text_of(d, fmt_))
    line = note(d, fmt_)
    if line:
        click.echo(line, err=True)
