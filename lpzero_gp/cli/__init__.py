"""The ``lpzero-gp`` command line: one module per command, and the exit codes.

Every user error (bad option, bad proxy string, bad benchmark file, missing path) prints one
line ``error: ...`` to stderr and exits with code 2; nothing half-written is left behind.
Ctrl-C exits with 130; an internal error is one line and exit code 1 (``LPZERO_GP_DEBUG=1``
shows its traceback). Start-up imports only click: each command imports its workflow when
it runs.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import warnings

import click

from lpzero_gp import __version__
from lpzero_gp.cli.ablate import ablate_command
from lpzero_gp.cli.baselines import baselines_command
from lpzero_gp.cli.cache import cache_command
from lpzero_gp.cli.eval import eval_command
from lpzero_gp.cli.export import export_command
from lpzero_gp.cli.output import OutputClosed, note, silence_stdout, writable_stderr
from lpzero_gp.cli.run import run_command
from lpzero_gp.cli.spaces import spaces_command
from lpzero_gp.cli.subnets import subnets_command
from lpzero_gp.errors import LpzeroError, one_line, printable
from lpzero_gp.workflows.optionspec import cli_spelling


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lpzero-gp")
def cli() -> None:
    """Search zero-cost proxies for language-model NAS with genetic programming (LPZero)."""


for _command in (run_command, eval_command, export_command, spaces_command, baselines_command,
                 ablate_command, subnets_command, cache_command):
    cli.add_command(_command)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line ``warning: ...`` (no source location)."""
    text = str(message).strip().splitlines()
    note(f"warning: {text[0] if text else category.__name__}")


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is: checkpoints kept, a resume hint, exit code 143."""


def _terminate(signum, frame) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    """Entry point: every user error is one line on stderr and exit code 2.

    An unexpected internal error is one line too, with exit code 1; set ``LPZERO_GP_DEBUG=1``
    to see its traceback. SIGTERM is handled like Ctrl-C; a closed stdout (``| head``) ends
    the command quietly.
    """
    writable_stderr()
    shown = warnings.showwarning
    warnings.showwarning = _show_warning
    handler = None
    if threading.current_thread() is threading.main_thread():
        handler = signal.signal(signal.SIGTERM, _terminate)
    try:
        with cli_spelling():  # errors name options as typed: --seq-len, not seq_len
            return _main(argv)
    finally:
        warnings.showwarning = shown
        if handler is not None:
            signal.signal(signal.SIGTERM, handler)


def _error(text: str, code: int) -> int:
    """Print ``text`` as one ``error:`` line on stderr (a line break inside it, from a path
    or an id, shown escaped, never cutting the line); return the exit code."""
    note(f"error: {printable(text.strip())}")
    return code


def _output_closed() -> int:
    """Exit code 141 (as SIGPIPE), with stdout pointed at /dev/null so the final flush is
    silent."""
    silence_stdout()
    return 141


#: Names under which the code that failed may hold the path it was reading or writing.
_PATH_NAMES = ("path", "filename", "file", "target", "folder")


def _os_error_path(exc: OSError) -> str | None:
    """The path an OSError is about: its ``filename``, else (a read that failed after the file
    opened carries none) a path held by the innermost frame of its traceback that has one."""
    if exc.filename:
        return str(exc.filename)
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        for name in _PATH_NAMES:
            value = frame.f_locals.get(name)
            if isinstance(value, str | os.PathLike) and str(value).strip():
                return str(value)
    return None


def _main(argv: list[str] | None) -> int:
    from concurrent.futures.process import BrokenProcessPool

    try:
        cli.main(args=argv, prog_name="lpzero-gp", standalone_mode=False)
    except click.exceptions.Exit as e:
        return e.exit_code
    except Terminated:
        return _error("terminated (SIGTERM)", 143)
    except click.exceptions.Abort as e:  # click's form of KeyboardInterrupt
        if isinstance(e.__cause__ or e.__context__, Terminated):  # click chains it, or not
            return _error("terminated (SIGTERM)", 143)
        return _error("interrupted", 130)
    except (OutputClosed, BrokenPipeError):  # stdout closed by the reader (| head): quietly
        return _output_closed()
    except SystemExit:
        # click ends a command whose stdout reader went away with exit(1), after wrapping
        # the streams so that their flush stays silent
        if type(sys.stdout).__name__.endswith("PacifyFlushWrapper"):  # click 8.1: no "_"
            return _output_closed()
        raise
    except click.ClickException as e:
        return _error(e.format_message(), 2)
    except LpzeroError as e:
        return _error(str(e), 2)
    except FileNotFoundError as e:
        return _error(f"file not found: {e.filename}", 2)
    except UnicodeDecodeError as e:
        return _error(f"a file is not UTF-8 text ({one_line(e)})", 2)
    except OSError as e:
        where = _os_error_path(e)
        return _error(f"{e.strerror or one_line(e)}{f': {where}' if where else ''}", 2)
    except KeyboardInterrupt:
        return _error("interrupted", 130)
    except BrokenProcessPool:
        if os.environ.get("LPZERO_GP_DEBUG"):
            raise
        return _error("a worker process died (out of memory?); rerun with fewer --workers "
                      "(a run continues from its last checkpoint with --resume)", 1)
    except Exception as e:
        if os.environ.get("LPZERO_GP_DEBUG"):
            raise
        return _error(f"internal error ({type(e).__name__}: {one_line(e)}); set "
                      "LPZERO_GP_DEBUG=1 to see the traceback", 1)
    return 0


def _exit() -> None:
    sys.exit(main())


__all__ = ["cli", "main"]


if __name__ == "__main__":
    _exit()
