"""``lpzero-gp cache``: show or clear the persistent statistics cache."""

from __future__ import annotations

import click

from lpzero_gp.cli import options as o
from lpzero_gp.workflows.optionspec import CACHE_DIR, CACHE_SPACE


@click.group("cache")
def cache_command() -> None:
    """The cache: statistics of models built once, and models converted once (a GGUF
    file's weights), reused by every later command.

    It lives in the user cache folder unless $LPZERO_GP_CACHE_DIR or --cache-dir says
    otherwise; LPZERO_GP_NO_CACHE=1 or --no-cache turns it off.
    """


@cache_command.command("info")
@o.option(CACHE_DIR)
@o.as_json("Print the report as JSON.")
def info_command(cache_dir: str | None, as_json: bool) -> None:
    """Where the cache is, its size, and one line per stored configuration or converted
    model (with the file it was converted from)."""
    from lpzero_gp.cli.output import show
    from lpzero_gp.workflows.cache import cache_info

    show(cache_info(cache_dir), as_json)


@cache_command.command("clear")
@o.option(CACHE_DIR)
@o.option(CACHE_SPACE)
@o.as_json("Print the report as JSON.")
def clear_command(cache_dir: str | None, space: str | None, as_json: bool) -> None:
    """Remove cached statistics and converted models (rebuilt when next needed)."""
    from lpzero_gp.cli.output import show
    from lpzero_gp.workflows.cache import cache_clear

    show(cache_clear(cache_dir, space), as_json)

__all__ = ["cache_command"]
