"""Click options built from the option specs: every option is declared once.

Each option's name, type, default, range or choices and help come from its spec
(:mod:`lpzero_gp.workflows.optionspec`), the very spec the options dataclasses take their
defaults from and check values against; a command lists the fields it takes
(:func:`options_of`) and gets them in that order. Nothing here imports more than click and the
light option modules, so ``lpzero-gp --help`` starts fast.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from lpzero_gp.workflows.optionspec import Spec, specs_of

F = TypeVar("F", bound=Callable[..., Any])
Decorator = Callable[[F], F]


class LazyHelpOption(click.Option):
    """An option whose help text is computed only when help is shown.

    Keeps an import that the text needs (such as the list of baseline keys) out of start-up.
    """

    def __init__(self, *args: Any, help_text: Callable[[], str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._help_text = help_text

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        """Fill in the help text afresh (it may name facts of this moment, such as the cores
        available), then format as usual."""
        self.help = self._help_text()
        return super().get_help_record(ctx)


class SpecList(click.ParamType):
    """A separated list of a spec's values (``80,100,200``), read and checked by the spec."""

    name = "list"

    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> Any:
        """The tuple of values; click's usage error saying what is wrong otherwise."""
        try:
            return self.spec.convert(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def stack(options: Sequence[Decorator]) -> Decorator:
    """One decorator applying ``options`` in the order listed (as shown by ``--help``)."""

    def apply(f: F) -> F:
        for option_ in reversed(options):
            f = option_(f)
        return f

    return apply


def given_options(ctx: click.Context) -> set[str]:
    """Names of the parameters given on the command line or in the environment."""
    return {name for name in ctx.params if ctx.get_parameter_source(name)
            not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None)}


# -- options from specs -----------------------------------------------------------------------


def param_type(spec: Spec) -> click.ParamType | None:
    """click's type for ``spec``: its range, choices, list or path (None: plain text)."""
    if spec.sep:
        return SpecList(spec)
    if spec.choices:
        return click.Choice(list(spec.choices))
    if spec.kind is int:
        return click.IntRange(spec.low, spec.high)
    if spec.kind is float:
        return click.FloatRange(spec.low, spec.high)
    if spec.path:
        return click.Path(dir_okay=spec.path != "file", file_okay=spec.path != "dir")
    return None


def option(s: Spec) -> Decorator:
    """The click option of spec ``s``: its spelling, type, default, range or choices, help."""
    kw: dict[str, Any] = {"required": s.required, "metavar": s.metavar}
    if s.kind is bool:  # --no-rps holds False in the field rps, whose default is True
        kw.update(is_flag=True, default=s.default, flag_value=not s.default)
    else:
        shown = s.shown_default()
        kw.update(type=param_type(s), default=s.cli_default(), multiple=s.multiple,
                  show_default=shown is not None)
    if callable(s.help):
        kw.update(cls=LazyHelpOption, help_text=s.help)
    else:
        kw["help"] = s.help or None
    return click.option(s.opt, s.name, **kw)


def options_of(cls: type, *names: str) -> Decorator:
    """The click options of the fields ``names`` of the options dataclass ``cls``, built from
    the fields' specs, in the order given."""
    specs = specs_of(cls)
    return stack([option(specs[name]) for name in names])


def as_json(help: str = "Print the result as JSON.") -> Decorator:
    """``--json``: print the result as JSON (the command line's own; no field of the options)."""
    return click.option("--json", "as_json", is_flag=True, help=help)

__all__ = ["LazyHelpOption"]
