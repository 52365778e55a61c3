"""The catalogue of hand-crafted proxies: what each computes and which pass it needs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lpzero_gp.errors import SpaceError

#: Bumped whenever a baseline's definition changes, so stale cache entries are not reused.
BASELINES_VERSION = 1

#: Which pass a baseline needs (decides its cost and what a space must supply).
FEATURE, MODEL, FORWARD, GRADIENT, HESSIAN, SYNFLOW = (
    "feature", "model", "forward", "gradient", "hessian", "synflow")


@dataclass(frozen=True)
class Baseline:
    """One hand-crafted proxy: key, table label, the pass it needs, an equivalent tree."""

    key: str
    label: str
    needs: str
    doc: str
    #: A proxy string of our primitive set that computes the same number (None if none does).
    tree: str | None = None
    #: Listed in the paper's Table 1 (False for the extra rows: #layers, tree twins, NWOT).
    table1: bool = True


#: Sum of |x| over every block, written with our ops: fro(sqrt|x|)^2 = sum |x|.
_BLOCK_SUM_ABS = "square(fro(sqrt(abs({x}))))"

BASELINES: tuple[Baseline, ...] = (
    Baseline("synaptic_diversity", "Synaptic Diversity", GRADIENT,
             "sum over mixer linears + attention-output dense (GPT-2: all Conv1D) of "
             "|nuc(W) * nuc(dL/dW)|"),
    Baseline("synaptic_saliency", "Synaptic Saliency", GRADIENT,
             "sum over FFN linears (GPT-2: all Conv1D) of sum |W * dL/dW|"),
    Baseline("activation_distance", "Activation Distance", FORWARD,
             "first sequence, binarised activations x > 0 of every hooked output; sum of all "
             "entries of K = x x^T + (1-x)(1-x)^T (no log-determinant), summed over outputs"),
    Baseline("jacobian_cosine", "Jacobian Cosine", GRADIENT,
             "position-table gradient, one vector per hidden dim; 1 - (sum_{i!=j} "
             "|cos_ij|^(1/20) / 2) / (N^2 - N)"),
    Baseline("snip", "SNIP", GRADIENT, "sum over all linear layers of sum |W * dL/dW|"),
    Baseline("grasp", "GraSP", HESSIAN,
             "sum over all linear layers of sum -W * (H g), g = dL/dW"),
    Baseline("gradnorm", "GradNorm", GRADIENT,
             "sum over all linear layers of ||dL/dW||_F"),
    Baseline("fisher", "Fisher", GRADIENT,
             "per layer output a (N, C) and its gradient g: 0.5 mean_N (a g)^2 per channel, "
             "broadcast to the channel's weights, summed"),
    Baseline("synflow", "Synflow", SYNFLOW,
             "|params|, float64, sum of the model output; sum over linear layers of |W * dR/dW|"),
    Baseline("logsynflow", "LogSynflow", SYNFLOW,
             "same pass as Synflow; sum of W * |log|dR/dW||, zero-gradient entries skipped"),
    Baseline("attention_confidence", "Attention Confidence", FORWARD,
             "every head-projection output (GPT-2: Conv1D output) (B, T, C): max over tokens, "
             "mean over the rest; summed"),
    Baseline("softmax_confidence", "Softmax Confidence", FORWARD,
             "every mixer softmax output (B, heads, T, T): max over the heads axis, mean; "
             "summed"),
    Baseline("head_importance", "Head Importance", GRADIENT,
             "sum over mixer linears (GPT-2: Conv1D) with weight.shape[0] >= 128 of "
             "sum |W * dL/dW|"),
    Baseline("params", "#Params", FEATURE, "trainable parameters, embeddings included"),
    Baseline("decoder_params", "Decoder #Params", FEATURE,
             "non-embedding parameters (GPT-2 benchmark field `nonembedding`)"),
    Baseline("layers", "#Layers", FEATURE, "number of transformer blocks", table1=False,
             tree="agg_sum(div(l1(W), l1(W)))"),
    Baseline("snip_gw", "SNIP on the G/W modules", GRADIENT,
             "SNIP restricted to the modules behind the search's G and W inputs",
             tree=f"agg_sum({_BLOCK_SUM_ABS.format(x='mul(G, W)')})", table1=False),
    Baseline("gradnorm_block", "Block GradNorm on the G/W modules", GRADIENT,
             "sum over blocks of the Frobenius norm of the block's G (all its tensors at once)",
             tree="agg_sum(fro(G))", table1=False),
    Baseline("params_gw", "#Weights of the G/W modules", MODEL,
             "element count of the weights behind the search's W input",
             tree=f"agg_sum(div({_BLOCK_SUM_ABS.format(x='W')}, l1(W)))", table1=False),
    Baseline("nwot", "NWOT log-det K (paper formula)", FORWARD,
             "log|det K| with K summed over the Activation-Distance outputs",
             table1=False),
)

BY_KEY: dict[str, Baseline] = {b.key: b for b in BASELINES}

#: Module sets a hooks object names (see :class:`BaselineHooks.module_set`).
MODULE_SETS = ("layers", "saliency", "diversity", "head_importance", "param_inputs")


class BaselineUnavailable(SpaceError):
    """A baseline whose inputs the space cannot supply; the message says why."""


def check_keys(keys: Iterable[str]) -> list[str]:
    """Validated baseline keys in table order; SpaceError names an unknown one."""
    keys = list(keys)
    bad = [k for k in keys if k not in BY_KEY]
    if bad:
        raise SpaceError(f"unknown baseline(s) {', '.join(bad)}; choose from "
                         f"{', '.join(BY_KEY)}")
    return [b.key for b in BASELINES if b.key in keys]

__all__ = [
    "BASELINES", "BASELINES_VERSION", "BY_KEY", "Baseline", "BaselineUnavailable", "MODULE_SETS",
    "check_keys",
]
