"""Printing what a workflow returns: its text lines, or its result as JSON."""

from __future__ import annotations

import contextlib
import json
import os
import sys

import click

from lpzero_gp.errors import ResultsError, printable, writable
from lpzero_gp.workflows.options import Report


class OutputClosed(Exception):
    """The reader of stdout went away (``lpzero-gp ... | head -1``)."""


def show(report: Report, as_json: bool = False, sort_keys: bool = False) -> None:
    """Print ``report``: its data as JSON, or its lines (and its notes on stderr).

    OutputClosed when stdout is a pipe whose reader has gone, or was closed before the
    command started (the command line stops quietly).
    """
    if as_json:  # JSON escapes line breaks inside its strings: the ones left are its layout
        out([json.dumps(report.data, indent=2, sort_keys=sort_keys, default=str)], keep="\t\n")
        return
    out(report.lines)
    for line in report.notes:
        note(line)


def out(lines: list[str], keep: str = "\t") -> None:
    """Print ``lines`` on stdout, one each, control and bidirectional characters escaped (a
    line break inside one, from a path or an id, included; ``keep``: those left as they are);
    OutputClosed when stdout is gone."""
    if sys.stdout is None:  # started with stdout closed (``>&-``)
        raise OutputClosed
    try:
        for line in lines:
            click.echo(printable(line, keep=keep))
        sys.stdout.flush()
    except BrokenPipeError:
        raise OutputClosed from None
    except OSError as exc:  # a full disk or device behind stdout
        silence_stdout()
        raise ResultsError(f"cannot write to standard output: {exc.strerror or exc}") from None


def writable_stderr() -> None:
    """Make ``sys.stderr`` something that can be written: started with stderr closed
    (``2>&-``), Python may hold no stream, or one on a descriptor the system gave to a file
    it opened for reading; progress bars and notes then go to /dev/null, and the command
    ends with its own exit code."""
    if not writable(sys.stderr):
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as stderr


def silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush of what could not be
    written stays silent."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.__stdout__.fileno())


def note(line: str) -> None:
    """A line on stderr (progress news, notes, warnings, errors), control and bidirectional
    characters escaped; nothing when stderr is closed: what is not shown cannot fail a command
    that did its work."""
    if sys.stderr is None:
        return
    try:
        click.echo(printable(line, keep="\t"), err=True)
    except OSError:  # stderr closed (``2>&-``) or its reader gone
        pass


def command_line() -> str:
    """The command line as typed, recorded with results."""
    return "lpzero-gp " + " ".join(sys.argv[1:])

__all__ = [
    "OutputClosed", "command_line", "note", "out", "show", "silence_stdout", "writable_stderr",
]
