"""Named proxies: the paper's searched proxies (Appendix B) and the reference code's readings.

docs/specs.md §7 explains the two readings: the paper's text (reciprocal, z-score) and the genotypes
the reference code ships (negation, dim-0 softmax). Both are kept so results can be compared.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources

from lpzero_gp.errors import ProxyError
from lpzero_gp.jsonfile import read_json
from lpzero_gp.proxy.genotype import Genotype, genotype_string
from lpzero_gp.proxy.parse import did_you_mean, unknown_input

GENOTYPES: dict[str, Genotype] = {
    # FlexiBERT, App. B: (1/H)^2 + log softmax(||A||_F); the second term is identically 0.
    "paper_bert": Genotype("H", "A", ("reciprocal", "square"), ("fro", "log_softmax"), "add"),
    # The genotype the reference code ships for BERT: negation instead of reciprocal.
    "code_bert": Genotype("H", "A", ("neg", "square"), ("fro", "log_softmax"), "add"),
    # GPT-2, App. B: |znorm(G)| + log|mean(W)|.
    "paper_gpt2": Genotype("G", "W", ("znorm", "abs"), ("mean", "abslog"), "add"),
    # The genotype the reference code ships for GPT-2.
    "code_gpt2": Genotype("W", "G", ("square", "l1"), ("softmax", "square"), "add"),
    # LLaMA, App. B: ||W||_1^2 + sqrt(softmax(W)).
    "paper_llama": Genotype("W", "W", ("l1", "square"), ("softmax", "sqrt"), "add"),
}

#: Proxy strings by name (the block aggregation is the mean, as in the reference code).
NAMED: dict[str, str] = {name: genotype_string(g) for name, g in GENOTYPES.items()}
#: Aliases with hyphens, as the documentation spells the named proxies.
NAMED.update({name.replace("_", "-"): s for name, s in list(NAMED.items())})
NAMED["flexibert-paper"] = NAMED["paper_bert"]
NAMED["gpt2-paper"] = NAMED["paper_gpt2"]
NAMED["llama-paper"] = NAMED["paper_llama"]


def shipped_best() -> dict[str, dict]:
    """Our searched proxies with the command, seed and variant that reproduce each."""
    path = resources.files("lpzero_gp") / "data" / "best_proxies.json"
    if not path.is_file():
        return {}
    return read_json(path, "packaged named proxies", error=ProxyError)


NAMED.update({name: entry["proxy"] for name, entry in shipped_best().items()})


def resolve(proxy: str) -> str:
    """A proxy string, with named proxies replaced by their definition."""
    if not isinstance(proxy, str):
        raise ProxyError("a proxy must be a string")
    return NAMED.get(proxy.strip(), proxy)


def suggest(word: str, others: Iterable[str] = ()) -> str:
    """``"; did you mean 'flexibert-best'?"``: the named proxies (and ``others``: inputs, a
    space's features) closest to ``word``, for the error of an unknown name; ``""`` if none."""
    return did_you_mean(word, [*NAMED, *others])


def unknown_word(exc: ProxyError, inputs: Iterable[str], features: Iterable[str] = ()
                 ) -> ProxyError:
    """``exc`` again, or, where the parser met a proxy that is one unknown word, its error with
    the closest named proxies, ``inputs`` and ``features`` (a space's) suggested."""
    word = getattr(exc, "unknown_word", None)
    if word is None:
        return exc
    features = list(features)
    what = "a named proxy or a feature" if features else "a named proxy"
    out = ProxyError(unknown_input(word, inputs, whole=True, others=[*NAMED, *features],
                                   what=what))
    out.unknown_word = word
    return out


def describe() -> dict[str, str]:
    """Every named proxy and its string."""
    return dict(NAMED)

__all__ = ["NAMED", "resolve", "shipped_best", "suggest", "unknown_word"]
