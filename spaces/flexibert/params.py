"""Constants of the FlexiBERT models and their analytic trainable-parameter counts.

Both model variants share the vocabulary, position table and embedding width; they differ in
which record fields they honour. The counts here let a search rank architectures by size without
building a single model, and the test-suite checks them against the benchmark's two count fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: Vocabulary size (uncased WordPiece, as ELECTRA/BERT).
VOCAB_SIZE = 30_522
#: Learned absolute positions (the longest usable sequence).
MAX_POSITIONS = 512
#: Token-type (segment) vocabulary.
TYPE_VOCAB_SIZE = 2
#: Embedding width of every FlexiBERT model (both variants).
EMBEDDING_SIZE = 128
#: Hidden width of every reference model (the record's ``hidden_size`` is ignored there).
REFERENCE_HIDDEN = 256
#: FFN inner width of every reference model (``feed_forward_dimension`` is ignored there).
REFERENCE_INTERMEDIATE = 1024
#: LayerNorm epsilon of both variants.
LAYER_NORM_EPS = 1e-12
#: Dropout probability of every dropout site (hidden and attention probabilities).
DROPOUT = 0.1
#: Standard deviation of the Normal / truncated-Normal initialisers.
INIT_STD = 0.02

Layer = Mapping[str, Any]


def dsc_sizes(heads: int, hidden: int = REFERENCE_HIDDEN) -> tuple[int, int, int]:
    """``(m, d, A)`` of a DSC mixer: attention heads kept, head width, branch width."""
    m = max(heads // 2, 1)
    d = hidden // heads
    return m, d, m * d


def embeddings_params(hidden: int, with_projection: bool) -> int:
    """Word, position and token-type tables, embedding LayerNorm, optional E->H projection."""
    e = EMBEDDING_SIZE
    count = (VOCAB_SIZE + MAX_POSITIONS + TYPE_VOCAB_SIZE) * e + 2 * e
    if with_projection:
        count += e * hidden + hidden
    return count


def reference_mixer_params(layer: Layer) -> int:
    """Token mixer plus its post block (dense + LayerNorm when present) of a reference layer."""
    h = REFERENCE_HIDDEN
    op, par = layer["operation_type"], layer["operation_parameter"]
    if op == "SA":
        extra = h * h if par == "WMA" else 0
        return 4 * h * h + 6 * h + extra
    if op == "LT":
        return h * h + h
    if op == "DSC":
        k = int(par)
        m, _, a = dsc_sizes(int(layer["num_operation_heads"]), h)
        return 5 * h * a + 5 * a + h * k + m * k * (a + 1) + h * h + 3 * h
    raise ValueError(f"unknown operation type {op!r}")


def reference_ffn_params(num_feed_forward: int) -> int:
    """FFN stack of a reference layer: H->I, (f-1) x I->I, I->H, output LayerNorm."""
    h, i = REFERENCE_HIDDEN, REFERENCE_INTERMEDIATE
    return 2 * h * i + i + 3 * h + (num_feed_forward - 1) * (i * i + i)


def reference_num_params(config: Mapping[str, Any]) -> int:
    """Trainable parameters of the reference encoder (docs/specs.md §8.8)."""
    total = embeddings_params(REFERENCE_HIDDEN, with_projection=True)
    for layer in config["encoder_layers"]:
        total += reference_mixer_params(layer)
        total += reference_ffn_params(int(layer["num_feed_forward"]))
    return total


def as_trained_ffn_widths(
    hidden: int, num_feed_forward: int, ffn_dim: int
) -> list[tuple[int, int]]:
    """``(in, out)`` of every FFN linear of an as-trained layer, down-projection last."""
    widths = [(hidden, 4 * hidden)]
    width = 4 * hidden
    for _ in range(num_feed_forward - 1):
        widths.append((width, ffn_dim))
        width = ffn_dim
    widths.append((width, hidden))
    return widths


def as_trained_layer_params(hidden: int, layer: Layer) -> int:
    """Attention sub-block (q, k, v, output dense, LayerNorm) plus FFN stack and its LayerNorm."""
    attention = 4 * hidden * hidden + 6 * hidden
    ffn = sum(
        a * b + b
        for a, b in as_trained_ffn_widths(
            hidden, int(layer["num_feed_forward"]), int(layer["feed_forward_dimension"])
        )
    )
    return attention + ffn + 2 * hidden


def as_trained_num_params(config: Mapping[str, Any]) -> int:
    """Trainable parameters of the as-trained encoder (docs/specs.md §9.10)."""
    hidden = int(config["hidden_size"])
    total = embeddings_params(hidden, with_projection=hidden != EMBEDDING_SIZE)
    layers: Sequence[Layer] = config["encoder_layers"]
    return total + sum(as_trained_layer_params(hidden, layer) for layer in layers)

__all__ = [
    "DROPOUT", "EMBEDDING_SIZE", "INIT_STD", "LAYER_NORM_EPS", "MAX_POSITIONS", "REFERENCE_HIDDEN",
    "REFERENCE_INTERMEDIATE", "TYPE_VOCAB_SIZE", "VOCAB_SIZE", "as_trained_ffn_widths",
    "as_trained_num_params", "dsc_sizes", "reference_num_params",
]
