"""``lpzero-gp export``: a proxy as a string, SymPy, srepr, LaTeX or JSON."""

from __future__ import annotations

import click

from lpzero_gp.cli import options as o
from lpzero_gp.cli.output import note, out
from lpzero_gp.workflows.optionspec import EXPORT_FORMAT, EXPORT_LITERAL, EXPORT_PROXY


@click.command("export")
@o.option(EXPORT_PROXY)
@o.option(EXPORT_FORMAT)
@o.option(EXPORT_LITERAL)
def export_command(proxy: str, fmt_: str, literal: bool) -> None:
    """Export a proxy as SymPy, LaTeX or JSON (every form reads back as --proxy).

    The SymPy, srepr and LaTeX forms are canonical unless --literal; when the canonical form
    leaves out part of the proxy, a note on stderr says what.
    """
    from lpzero_gp.proxy.export import export, text_of
    from lpzero_gp.proxy.export import note as canonical_note
    from lpzero_gp.proxy.read import read_proxy

    d = export(read_proxy(proxy), literal=literal)
    out([text_of(d, fmt_)], keep="\t\n")  # the forms of a parsed proxy: no user text
    line = canonical_note(d, fmt_)
    if line:
        note(line)

__all__ = ["export_command"]
