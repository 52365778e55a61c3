"""Printing what a workflow returns: its text lines, or its result as JSON."""

from __future__ import annotations

import json
import sys

import click

from lpzero_gp.workflows.options import Report


class OutputClosed(Exception):
    """The reader of stdout went away (``lpzero-gp ... | head -1``)."""


def show(report: Report, as_json: bool = False, sort_keys: bool = False) -> None:
    """Print ``report``: its data as JSON, or its lines (and its notes on stderr).

    OutputClosed when stdout is a pipe whose reader has gone (the command line stops quietly).
    """
    try:
        _show(report, as_json, sort_keys)
        sys.stdout.flush()
    except BrokenPipeError:
        raise OutputClosed from None


def _show(report: Report, as_json: bool, sort_keys: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.data, indent=2, sort_keys=sort_keys, default=str))
        return
    for line in report.lines:
        click.echo(line)
    for line in report.notes:
        click.echo(line, err=True)


def note(line: str) -> None:
    """Progress news on stderr (the workflows' ``notify`` callback)."""
    click.echo(line, err=True)


def command_line() -> str:
    """The command line as typed, recorded with results."""
    return "lpzero-gp " + " ".join(sys.argv[1:])

__all__ = ["OutputClosed", "command_line", "note", "show"]
