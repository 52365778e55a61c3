"""Click options shared by the commands: each option is spelled once here.

Commands that share an option differ at most in its help text, default or range, which the
factories take as arguments. Nothing here imports more than click and the light
:mod:`lpzero_gp.workflows.options`, so ``lpzero-gp --help`` starts fast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import click
from click.core import ParameterSource

F = TypeVar("F", bound=Callable[..., Any])
Decorator = Callable[[F], F]

#: Largest seed click accepts (numpy and torch seeds are 32-bit).
MAX_SEED = 2**31 - 1


class LazyHelpOption(click.Option):
    """An option whose help text is computed only when help is shown.

    Keeps an import that the text needs (such as the list of baseline keys) out of start-up.
    """

    def __init__(self, *args: Any, help_text: Callable[[], str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._help_text = help_text

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        """Fill in the help text, then format as usual."""
        if self.help is None:
            self.help = self._help_text()
        return super().get_help_record(ctx)


def stack(options: Sequence[Decorator]) -> Decorator:
    """One decorator applying ``options`` in the order listed (as shown by ``--help``)."""

    def apply(f: F) -> F:
        for option in reversed(options):
            f = option(f)
        return f

    return apply


def given_options(ctx: click.Context) -> set[str]:
    """Names of the parameters given on the command line or in the environment."""
    return {name for name in ctx.params if ctx.get_parameter_source(name)
            not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None)}


# -- one factory per shared option ----------------------------------------------------------


def space(choices: Sequence[str] | None = None,
          help: str | None = "Search space: flexibert, gpt2, hf, llama or an installed plugin "
                             "space (lpzero-gp spaces lists them).") -> Decorator:
    """``--space``: a space name (free text, or one of ``choices``)."""
    kind = click.Choice(list(choices)) if choices else None
    return click.option("--space", type=kind, default="flexibert", show_default=True,
                        help=help)


def space_option() -> Decorator:
    """``--space-option KEY=VALUE``: an option of the space's constructor (repeatable)."""
    return click.option("--space-option", "space_option", multiple=True, metavar="KEY=VALUE",
                        help="An option of the space's constructor (repeatable; values read "
                             "as JSON when they parse), e.g. model=tiny for llama.")


def variant() -> Decorator:
    """``--variant``: the space's model variant."""
    return click.option("--variant", default=None,
                        help="Model variant (default: the space's; flexibert: as-trained or "
                             "reference; lpzero-gp spaces lists them).")


def semantics(help: str = "Proxy-input semantics: clean (intended) or as the published code."
              ) -> Decorator:
    """``--semantics``: intended or reference proxy inputs."""
    return click.option("--semantics", type=click.Choice(["intended", "reference"]),
                        default="intended", show_default=True, help=help)


def benchmark() -> Decorator:
    """``--benchmark``: a benchmark JSON file."""
    return click.option("--benchmark", type=click.Path(dir_okay=False), default=None,
                        help="A benchmark JSON file in the space's format (default: packaged).")


#: Help of the calibration batch options of the benchmark-space commands.
BATCH_SIZE_HELP = "Calibration batch size (default: the space's; flexibert 16, gpt2 16, llama 4)."
SEQ_LEN_HELP = ("Calibration sequence length (default: the space's; flexibert 128, gpt2 192, "
                "llama 64), never longer than the benchmark's models accept (gpt2: the "
                "records' smallest tgt_len); a longer one is refused.")


def batch_size(default: int | None = None, help: str = BATCH_SIZE_HELP) -> Decorator:
    """``--batch-size``: sequences in the calibration batch."""
    return click.option("--batch-size", type=click.IntRange(1, 4096), default=default,
                        show_default=default is not None, help=help)


def seq_len(default: int | None = None, high: int = 8192, help: str = SEQ_LEN_HELP
            ) -> Decorator:
    """``--seq-len``: tokens per calibration sequence."""
    return click.option("--seq-len", type=click.IntRange(2, high), default=default,
                        show_default=default is not None, help=help)


def tokenizer(help: str = "transformers tokenizer name or local directory (default: the "
                          "shipped one).") -> Decorator:
    """``--tokenizer``: a tokenizer name or directory."""
    return click.option("--tokenizer", default=None, help=help)


def text(help: str = "Calibration text file (default: the shipped calibration text)."
         ) -> Decorator:
    """``--text``: the calibration text file."""
    return click.option("--text", type=click.Path(dir_okay=False), default=None, help=help)


def seed(help: str = "One seed for everything: a benchmark file's splits, samples of N "
                     "architectures, the search and the models' initialisation (unless "
                     "--init-seed).") -> Decorator:
    """``--seed``: the run's seed."""
    return click.option("--seed", type=click.IntRange(0, MAX_SEED), default=42,
                        show_default=True, help=help)


def init_seed() -> Decorator:
    """``--init-seed``: the models' initialisation seed."""
    return click.option("--init-seed", type=click.IntRange(0, MAX_SEED), default=None,
                        help="Seed of the models' random initialisation (default: --seed).")


def stat_budget(help: str = "Stored elements per statistic tensor (row sample).") -> Decorator:
    """``--stat-budget``: stored elements per statistic tensor."""
    return click.option("--stat-budget", type=click.IntRange(64, 1 << 24), default=2048,
                        show_default=True, help=help)


def device(help: str = "cpu, cuda or cuda:N (checked once, before any model is built)."
           ) -> Decorator:
    """``--device``: cpu or cuda[:N]."""
    return click.option("--device", default="cpu", show_default=True, help=help)


def cache_dir(help: str = "Statistics cache folder (default: the user cache folder, or "
                          "$LPZERO_GP_CACHE_DIR; lpzero-gp cache info shows it).") -> Decorator:
    """``--cache-dir``: the on-disk cache folder."""
    return click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
                        help=help)


def no_cache(help: str = "Keep no statistics between commands (also LPZERO_GP_NO_CACHE=1)."
             ) -> Decorator:
    """``--no-cache``: use no persistent statistics cache."""
    return click.option("--no-cache", is_flag=True, help=help)


def stats(help: str = "real: the networks' statistics; null: the shape-only control, every "
                      "statistic replaced by seeded noise of the same shapes (what a proxy "
                      "ranks from shapes alone).") -> Decorator:
    """``--stats``: real statistics or the null control."""
    return click.option("--stats", type=click.Choice(["real", "null"]), default="real",
                        show_default=True, help=help)


def workers(help: str = "Local worker processes for extraction and fitness.") -> Decorator:
    """``--workers``: local worker processes."""
    return click.option("--workers", type=click.IntRange(1, 256), default=1, show_default=True,
                        help=help)


def threads(default: int | None, high: int, help: str) -> Decorator:
    """``--threads``: torch CPU threads."""
    return click.option("--threads", type=click.IntRange(1, high), default=default,
                        show_default=default is not None, help=help)


def dask() -> Decorator:
    """``--dask``: a Dask scheduler."""
    return click.option("--dask", default=None,
                        help="Dask scheduler address, or 'local' (needs lpzero-gp[dask]); "
                             "replaces --workers.")


def quiet(help: str = "No progress bars.") -> Decorator:
    """``--quiet``: no progress bars."""
    return click.option("--quiet", is_flag=True, help=help)


def out(default: str) -> Decorator:
    """``--out``: the results folder (``default`` describes the folder used without it)."""
    return click.option("--out", type=click.Path(file_okay=False), default=None,
                        help=f"Results folder (default {default}).")


def force(help: str = "Replace an existing results folder.") -> Decorator:
    """``--force``: replace an existing results folder."""
    return click.option("--force", is_flag=True, help=help)


def as_json(help: str = "Print the result as JSON.") -> Decorator:
    """``--json``: print the result as JSON."""
    return click.option("--json", "as_json", is_flag=True, help=help)


def presets_text(presets: Mapping[str, tuple[int, int, int]]) -> str:
    """``quick: population 20, offspring 10, evaluations 100; ...`` of budget presets."""
    return "; ".join(f"{name}: population {p}, offspring {o}, evaluations {e:,}"
                     for name, (p, o, e) in presets.items())


def budget(presets: Mapping[str, tuple[int, int, int]], what: str, printed: str) -> Decorator:
    """``--budget``: a search budget preset; ``what`` says what its evaluations count and
    ``printed`` where the settings used are shown."""
    return click.option("--budget", type=click.Choice(list(presets)), default="default",
                        show_default=True,
                        help=f"Budget preset ({presets_text(presets)}; {what}). --population, "
                             "--offspring and --evaluations replace the preset's numbers; the "
                             f"settings used are printed {printed}.")


def population(default: int | None = None, high: int = 10000, help: str | None = None
               ) -> Decorator:
    """``--population``: the evolution's population size."""
    return click.option("--population", type=click.IntRange(2, high), default=default,
                        show_default=default is not None, help=help)


def offspring(help: str, default: int | None = None, high: int = 10000) -> Decorator:
    """``--offspring``: children per generation."""
    return click.option("--offspring", type=click.IntRange(1, high), default=default,
                        show_default=default is not None, help=help)


def evaluations(low: int, help: str) -> Decorator:
    """``--evaluations``: the evaluation budget."""
    return click.option("--evaluations", type=click.IntRange(low, 10**6), default=None,
                        help=help)


def n_unary(help: str | None = None) -> Decorator:
    """``--n-unary``: unary ops per genotype branch."""
    return click.option("--n-unary", type=click.IntRange(1, 10), default=2, show_default=True,
                        help=help)


def aggregation(help: str) -> Decorator:
    """``--aggregation``: aggregation over blocks."""
    return click.option("--aggregation", type=click.Choice(["mean", "sum", "both"]),
                        default="both", show_default=True, help=help)


#: How architectures are chosen, after each command's own text for --search-archs.
SEARCH_ARCHS_HELP = ("Packaged benchmarks have fixed splits; a --benchmark file is split "
                     "10/10/80 % from its own ids (at least 2 each), so for fewer than 30 "
                     "records give a number N (at least 3).")
#: What the held-out choices mean, after each command's own text for --heldout.
HELDOUT_HELP = ("'heldout' is every architecture not searched; N samples N of them (seeded). "
                "At least 3 are needed.")
#: How a command that reports intervals treats a small held-out sample.
SMALL_SAMPLE_HELP = ("Under 20 the correlation is reported with its 95% interval and a "
                     "small-sample note.")


def search_archs(help: str) -> Decorator:
    """``--search-archs``: the architectures searched on."""
    return click.option("--search-archs", default="search", show_default=True,
                        help=f"{help} {SEARCH_ARCHS_HELP}")


def heldout(help: str, small_sample: bool = True) -> Decorator:
    """``--heldout``: the architectures the best proxy is scored on (``small_sample``: the
    command reports small samples with an interval)."""
    text = f"{help} {HELDOUT_HELP}" + (f" {SMALL_SAMPLE_HELP}" if small_sample else "")
    return click.option("--heldout", default="validation", show_default=True, help=text)


def archs(help: str) -> Decorator:
    """``--archs``: the architectures scored."""
    return click.option("--archs", default="all", show_default=True, help=help)


def model(help: str, default: str = "smollm2") -> Decorator:
    """``--model``: the llama model (smollm2, tiny, a checkpoint folder or a GGUF file)."""
    return click.option("--model", default=default, show_default=True, help=help)


def adapter(help: str) -> Decorator:
    """``--adapter``: a peft super-adapter directory."""
    return click.option("--adapter", type=click.Path(file_okay=False), default=None,
                        help=help)


def dtype(help: str) -> Decorator:
    """``--dtype``: the llama model's weight dtype."""
    return click.option("--dtype", type=click.Choice(["fp32", "bf16", "fp16"]),
                        default="fp32", show_default=True, help=help)


# -- option groups --------------------------------------------------------------------------

def common(batch_size_help: str = BATCH_SIZE_HELP, seq_len_help: str = SEQ_LEN_HELP,
           semantics_help: str | None = None, seed_help: str | None = None,
           stat_budget_help: str | None = None, cache_dir_help: str | None = None,
           workers_help: str | None = None) -> Decorator:
    """The options shared by every command that builds models of a benchmark space (``run``,
    ``eval``, ``ablate``, ``baselines``); a command may word a help text its own way, never
    change an option's meaning (they all fill :class:`~lpzero_gp.workflows.options.Source`)."""
    return stack([
        space(), space_option(), variant(),
        semantics() if semantics_help is None else semantics(semantics_help),
        benchmark(), batch_size(help=batch_size_help), seq_len(help=seq_len_help),
        tokenizer(), text(), seed() if seed_help is None else seed(seed_help), init_seed(),
        stat_budget() if stat_budget_help is None else stat_budget(stat_budget_help),
        stats(), device(), cache_dir() if cache_dir_help is None else cache_dir(cache_dir_help),
        no_cache(),
        workers() if workers_help is None else workers(workers_help),
        dask(), quiet(),
    ])


#: Options shared by every command that builds models of a benchmark space.
common_options = common()

#: Options of the LLaMA commands: model, super-adapter, calibration, inputs.
llama_model_options = stack([
    model("smollm2 (pretrained SmolLM2-135M, the shipped super-adapter and benchmark), tiny "
          "(random 4-layer Llama for quick checks), a Hugging Face Llama checkpoint folder or "
          "a .gguf file."),
    adapter("A trained peft LoRA super-adapter folder, or 'fresh' (default: the shipped one "
            "for smollm2, fresh adapters otherwise)."),
    click.option("--lora-r", type=click.IntRange(1, 4096), default=None,
                 help="Maximal adapter rank of fresh adapters (default: hidden/8 rounded "
                      "to a multiple of 8 within 8..32: 8 for tiny, 32 for LLaMA-7B)."),
    click.option("--lora-init", type=click.Choice(["nonzero", "zero"]), default="nonzero",
                 show_default=True,
                 help="Fresh adapters: nonzero keeps nn.Linear init on lora_A and lora_B; "
                      "zero is peft's default (lora_B = 0: ranks change nothing)."),
    click.option("--tie-ranks", is_flag=True,
                 help="One rank choice per layer for q/k/v and gate/up adapters."),
    click.option("--modules", type=click.Choice(["auto", "all", "base", "adapters"]),
                 default="auto", show_default=True,
                 help="Linears feeding W/G: base+adapters, base, or adapters only (no "
                      "gradients for the frozen base). auto: adapters above 2e8 params."),
    click.option("--loss", type=click.Choice(["lm", "ones"]), default="lm",
                 show_default=True, help="Backward of the LM loss, or of ones on logits."),
    batch_size(4, help="Calibration batch size."),
    seq_len(64, high=32768, help="Calibration sequence length."),
    tokenizer("Tokenizer directory (default: the checkpoint's own if it has one, else the "
              "shipped one)."),
    text(),
    device(),
    dtype("Model weight dtype (bf16 for large models)."),
    seed("One seed for everything: the super-network's random parts (tiny weights, fresh "
         "adapters) and the sub-network search."),
    threads(1, 1024, "CPU threads for torch (1 avoids thread thrashing on busy CPUs)."),
    quiet(),
])
