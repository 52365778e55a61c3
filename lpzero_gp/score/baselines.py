"""Hand-crafted zero-cost proxies of the paper's Table 1, computed on a space's own models.

Every baseline follows docs/specs.md §6.2 ("implemented" columns). One architecture is scored by
building its model with the search's seed (:meth:`Space.model_seed`), running one
forward and one backward of the space's loss (with the Hessian-gradient product for GraSP) while
forward hooks read activations, then one all-positive double-precision pass for Synflow. A
space takes part through a small hooks object (``spaces/<name>/baseline_hooks.py``) that names
its module sets, position table and losses; a baseline whose inputs a space cannot supply is
reported as unavailable with the reason, never silently skipped.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lpzero_gp.atomic import atomic_json
from lpzero_gp.errors import LpzeroError, SpaceError, one_line
from lpzero_gp.parallel import stream
from lpzero_gp.spaces.base import BaselineHooks, Record, Space
from lpzero_gp.stats.cache import BASELINES as CACHE_SUBFOLDER
from lpzero_gp.stats.cache import write_key
from lpzero_gp.stats.extract import ExtractConfig, cache_key
from lpzero_gp.stats.extract import cache_folder as extract_cache_folder

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


# ---------------------------------------------------------------------------------------------
# per-architecture passes


@dataclass
class GradientPass:
    """Everything read off the forward/backward pass, detached (float64 where summed)."""

    weights: dict[nn.Module, torch.Tensor] = field(default_factory=dict)
    grads: dict[nn.Module, torch.Tensor] = field(default_factory=dict)
    hess_grad: dict[nn.Module, torch.Tensor] = field(default_factory=dict)
    fisher: dict[nn.Module, float] = field(default_factory=dict)
    position_grad: torch.Tensor | None = None
    act_sum: float = 0.0
    act_kernel: torch.Tensor | None = None
    act_count: int = 0
    head_conf: float = 0.0
    head_count: int = 0
    softmax_conf: float = 0.0
    softmax_count: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def _first_tensor(output: Any, index: int | None) -> torch.Tensor | None:
    out = output[index] if index is not None else output
    return out if isinstance(out, torch.Tensor) else None


def _forward_hooks(hooks: BaselineHooks, model: nn.Module, res: GradientPass,
                   layers: list[nn.Module], fisher_outs: list[tuple[nn.Module, torch.Tensor]],
                   want: set[str]) -> list:
    """Register the forward hooks that read activations; returns their handles."""
    handles = []

    def on_activation(_m, _i, out):
        x = out[0].detach().double().reshape(out.shape[1], -1)  # first sequence, (T, C)
        b = (x > 0).double()
        k = b @ b.T + (1 - b) @ (1 - b).T
        res.act_sum += float(k.sum())
        res.act_kernel = k if res.act_kernel is None else res.act_kernel + k
        res.act_count += 1

    def on_head(_m, _i, out):
        res.head_conf += float(out.detach().double().amax(dim=1).mean())
        res.head_count += 1

    def on_softmax(index):
        def hook(_m, _i, out):
            t = _first_tensor(out, index)
            if t is not None:
                res.softmax_conf += float(t.detach().double().amax(dim=1).mean())
                res.softmax_count += 1
        return hook

    def on_layer(_m, _i, out):
        fisher_outs.append((_m, out))

    if want & {"activation_distance", "nwot"}:
        for m in hooks.activation_modules(model):
            handles.append(m.register_forward_hook(on_activation))
    if "attention_confidence" in want:
        for m in hooks.head_modules(model):
            handles.append(m.register_forward_hook(on_head))
    if "softmax_confidence" in want:
        for m, index in hooks.softmax_taps(model):
            handles.append(m.register_forward_hook(on_softmax(index)))
    if "fisher" in want:
        for m in layers:
            handles.append(m.register_forward_hook(on_layer))
    return handles


def _fisher_total(hooks: BaselineHooks, module: nn.Module, act: torch.Tensor,
                  grad: torch.Tensor, semantics: str) -> float:
    """0.5 mean_N (a g)^2 per output channel, times the weights each channel broadcasts to."""
    a = act.detach().double().reshape(-1, act.shape[-1])
    g = grad.detach().double().reshape(-1, grad.shape[-1])
    per_channel = 0.5 * (a * g).pow(2).mean(dim=0)
    fan_in, _ = hooks.fan(module)
    # reference: the channel vector is broadcast against weight.shape[-1] (in for an
    # (out, in) Linear, out for an (in, out) Conv1D); intended: each channel's fan-in.
    width = module.weight.shape[-1] if semantics == "reference" else fan_in
    return float(per_channel.sum()) * width


def gradient_pass(hooks: BaselineHooks, model: nn.Module, batch: dict[str, torch.Tensor],
                  semantics: str, want: set[str]) -> GradientPass:
    """One forward and one backward (with create_graph when GraSP is wanted)."""
    res = GradientPass()
    layers = hooks.module_set(model, "layers")
    extra = {m for name in ("saliency", "diversity", "head_importance", "param_inputs")
             for m in hooks.module_set(model, name)}
    modules = list(dict.fromkeys([*layers, *extra]))
    need_grad = any(BY_KEY[k].needs in (GRADIENT, HESSIAN) for k in want)
    hessian = "grasp" in want
    fisher_outs: list[tuple[nn.Module, torch.Tensor]] = []
    handles = _forward_hooks(hooks, model, res, layers, fisher_outs, want)
    table = hooks.position_table(model) if "jacobian_cosine" in want else None
    try:
        t0 = time.perf_counter()
        with torch.enable_grad():
            loss = hooks.loss(model, batch, semantics)
            if not torch.isfinite(loss):
                raise SpaceError(f"the loss is not finite ({float(loss)})")
            res.seconds["forward"] = time.perf_counter() - t0
            if not need_grad:
                return res
            t0 = time.perf_counter()
            params = [m.weight for m in modules] + ([table] if table is not None else [])
            outs = [o for _, o in fisher_outs]
            got = torch.autograd.grad(loss, params + outs, create_graph=hessian,
                                      allow_unused=True)
            res.seconds["backward"] = time.perf_counter() - t0
            grads = [torch.zeros_like(p) if g is None else g for p, g in zip(params, got,
                                                                              strict=False)]
            for m, g in zip(modules, grads, strict=False):
                res.weights[m] = m.weight.detach().double()
                res.grads[m] = g.detach().double()
            if table is not None:
                res.position_grad = grads[len(modules)].detach().double()
            for (m, o), g in zip(fisher_outs, got[len(params):], strict=True):
                if g is not None:
                    res.fisher[m] = res.fisher.get(m, 0.0) + _fisher_total(hooks, m, o, g,
                                                                           semantics)
            if hessian:
                t0 = time.perf_counter()
                weights = [m.weight for m in layers]
                z = sum((grads[i].detach() * grads[i]).sum() for i in range(len(layers)))
                hg = torch.autograd.grad(z, weights, allow_unused=True)
                for m, h in zip(layers, hg, strict=True):
                    res.hess_grad[m] = (torch.zeros_like(m.weight) if h is None else h
                                        ).detach().double()
                res.seconds["hessian"] = time.perf_counter() - t0
    finally:
        for h in handles:
            h.remove()
        fisher_outs.clear()
    return res


def synflow_pass(hooks: BaselineHooks, model: nn.Module, batch: dict[str, torch.Tensor],
                 semantics: str) -> tuple[dict[nn.Module, torch.Tensor],
                                          dict[nn.Module, torch.Tensor], float]:
    """|params| in float64, Synflow's objective, gradients of the linear layers.

    The model's parameters are overwritten (made positive, cast to float64): call it last.
    """
    t0 = time.perf_counter()
    with torch.no_grad():
        for p in model.parameters():
            p.abs_()
    model.double()
    layers = hooks.module_set(model, "layers")
    with torch.enable_grad():
        loss = hooks.synflow_loss(model, batch, semantics)
        if not torch.isfinite(loss):
            raise SpaceError(f"the Synflow objective is not finite ({float(loss)})")
        got = torch.autograd.grad(loss, [m.weight for m in layers], allow_unused=True)
    weights = {m: m.weight.detach() for m in layers}
    grads = {m: (torch.zeros_like(m.weight) if g is None else g.detach())
             for m, g in zip(layers, got, strict=True)}
    return weights, grads, time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------
# formulas


def _sum_abs_wg(res: GradientPass, modules: list[nn.Module]) -> float:
    return float(sum((res.weights[m] * res.grads[m]).abs().sum() for m in modules))


def nuclear_norm(t: torch.Tensor) -> float:
    """Sum of singular values, from the eigenvalues of the smaller Gram matrix (float64).

    Equal to ``torch.linalg.matrix_norm(t, "nuc")`` up to round-off and several times faster
    than an SVD of a wide matrix.
    """
    t = t.double().reshape(t.shape[0], -1)
    gram = t @ t.T if t.shape[0] <= t.shape[1] else t.T @ t
    return float(torch.linalg.eigvalsh(gram).clamp_min(0).sqrt().sum())


def jacobian_cosine(position_grad: torch.Tensor) -> float:
    """1 - (sum over i != j of |cos_ij|^(1/20), halved) / (N^2 - N), N = hidden dims."""
    v = position_grad.double().T  # one vector per hidden dim, length = positions
    n = v.shape[0]
    if n < 2:
        raise SpaceError("the position table has fewer than 2 hidden dims")
    norms = v.norm(dim=1, keepdim=True)
    if bool((norms == 0).any()):
        raise SpaceError("a hidden dim of the position-table gradient is all zero "
                         "(cosine undefined)")
    u = v / norms
    cos = (u @ u.T).abs()
    off = ~torch.eye(n, dtype=torch.bool)
    total = cos[off].pow(1 / 20).sum() / 2
    return float(1 - total / (n * n - n))


def _nwot(res: GradientPass) -> float:
    if res.act_kernel is None:
        raise BaselineUnavailable("no activation output was recorded")
    _sign, logdet = torch.linalg.slogdet(res.act_kernel)
    return float(logdet)


def _count(n: int, what: str) -> None:
    if n == 0:
        raise BaselineUnavailable(f"the model produced no {what}")


def _gradient_scores(hooks: BaselineHooks, model: nn.Module, res: GradientPass
                     ) -> dict[str, Callable[[], float]]:
    sets = {name: hooks.module_set(model, name) for name in MODULE_SETS}
    gw = sets["param_inputs"]

    def params_gw() -> float:
        return float(sum(m.weight.numel() for m in gw))

    def gradnorm_block() -> float:
        total = 0.0
        for block in _blocks_of(hooks.blocks(model), gw):
            total += math.sqrt(sum(float(res.grads[m].pow(2).sum()) for m in block))
        return total

    return {
        "snip": lambda: _sum_abs_wg(res, sets["layers"]),
        "synaptic_saliency": lambda: _sum_abs_wg(res, sets["saliency"]),
        "head_importance": lambda: _sum_abs_wg(res, sets["head_importance"]),
        "synaptic_diversity": lambda: sum(abs(nuclear_norm(res.weights[m]) *
                                              nuclear_norm(res.grads[m]))
                                          for m in sets["diversity"]),
        "gradnorm": lambda: float(sum(res.grads[m].norm() for m in sets["layers"])),
        "fisher": lambda: float(sum(res.fisher.get(m, 0.0) for m in sets["layers"])),
        "grasp": lambda: float(sum((-res.weights[m] * res.hess_grad[m]).sum()
                                   for m in sets["layers"])),
        "snip_gw": lambda: _sum_abs_wg(res, gw),
        "gradnorm_block": gradnorm_block,
        "params_gw": params_gw,
    }


def _blocks_of(blocks: list[nn.Module], modules: list[nn.Module]) -> list[list[nn.Module]]:
    """Group ``modules`` by the transformer block that owns them (block order kept)."""
    out = []
    for block in blocks:
        owned = {id(m) for m in block.modules()}
        out.append([m for m in modules if id(m) in owned])
    return out


def _forward_scores(res: GradientPass) -> dict[str, Callable[[], float]]:
    def act() -> float:
        _count(res.act_count, "activation output")
        return res.act_sum

    def head() -> float:
        _count(res.head_count, "head-projection output")
        return res.head_conf

    def soft() -> float:
        _count(res.softmax_count, "softmax output")
        return res.softmax_conf

    return {"activation_distance": act, "attention_confidence": head,
            "softmax_confidence": soft, "nwot": lambda: _nwot(res)}


def _log_synflow(w: torch.Tensor, g: torch.Tensor) -> float:
    mag = g.abs()
    nonzero = mag > 0
    return float((w[nonzero] * mag[nonzero].log().abs()).sum())


# ---------------------------------------------------------------------------------------------
# one architecture


@dataclass
class ArchScores:
    """Baseline scores of one architecture, the seconds each took, and why any failed."""

    id: str
    scores: dict[str, float]
    seconds: dict[str, float]
    errors: dict[str, str]

    def to_json(self) -> dict:
        """Plain JSON (nan as null)."""
        return {"id": self.id,
                "scores": {k: (v if math.isfinite(v) else None) for k, v in self.scores.items()},
                "seconds": self.seconds, "errors": self.errors}

    @classmethod
    def from_json(cls, data: dict) -> ArchScores:
        """Inverse of :meth:`to_json`."""
        scores = {k: (float("nan") if v is None else float(v))
                  for k, v in data["scores"].items()}
        return cls(str(data["id"]), scores, dict(data["seconds"]), dict(data["errors"]))


def _reason(exc: BaseException) -> str:
    """One line saying why a baseline failed (the exception type unless it is a user error)."""
    return one_line(exc, with_type=not isinstance(exc, LpzeroError))


def feature_score(space: Space, record: Record, variant: str, key: str) -> float:
    """A size feature of a record (no model build)."""
    if key == "params":
        return float(space.num_params(record, variant))
    feats = space.features(record, variant)
    if key not in feats:
        raise BaselineUnavailable(f"space {space.name!r} has no {key!r} feature"
                                  + (" (encoder-only models have no decoder)"
                                     if key == "decoder_params" else ""))
    return float(feats[key])


@dataclass
class _Sheet:
    """Scores, seconds and error lines of one architecture, filled baseline by baseline."""

    scores: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def put(self, key: str, fn: Callable[[], float], base: float) -> None:
        """Score ``key`` with ``fn``; a failure is this baseline's alone (nan and a reason)."""
        t0 = time.perf_counter()
        try:
            value = float(fn())
            if not math.isfinite(value):
                raise SpaceError(f"non-finite score {value}")
            self.scores[key] = value
        except Exception as exc:  # one baseline failing must not lose the others
            self.scores[key] = float("nan")
            self.errors[key] = _reason(exc)
        self.seconds[key] = base + time.perf_counter() - t0

    def fail(self, key: str, reason: str, seconds: float | None = None) -> None:
        """Mark ``key`` unavailable with ``reason``."""
        self.scores[key], self.errors[key] = float("nan"), reason
        if seconds is not None:
            self.seconds[key] = seconds


def score_architecture(space: Space, record: Record, variant: str,
                       batch: dict[str, torch.Tensor], semantics: str = "intended",
                       seed: int = 42, keys: Iterable[str] | None = None,
                       device: str = "cpu") -> ArchScores:
    """Every requested baseline on one architecture (model seeded by ``space.model_seed``).

    A baseline that fails or that the space cannot supply gets nan and a one-line reason in
    ``errors``; the others are unaffected.
    """
    if semantics not in space.semantics:
        raise SpaceError(f"unknown semantics {semantics!r}; choose "
                         f"{', '.join(space.semantics)}")
    keys = check_keys(keys if keys is not None else BY_KEY)
    sheet = _Sheet()
    for key in keys:
        if BY_KEY[key].needs == FEATURE:
            sheet.put(key, lambda k=key: feature_score(space, record, variant, k), 0.0)
    model_keys = [k for k in keys if BY_KEY[k].needs != FEATURE]
    hooks = space.baseline_hooks() if model_keys else None
    if model_keys and hooks is None:
        for key in model_keys:
            sheet.fail(key, f"space {space.name!r} supplies no baseline hooks")
    if hooks is not None:
        s = space.model_seed(seed, record.id)
        t0 = time.perf_counter()
        model = space.build(record, variant, s).to(torch.device(device))
        build = time.perf_counter() - t0
        hooks.check(model)
        dev_batch = {k: v.to(device) for k, v in batch.items()}
        grad_keys = [k for k in model_keys if BY_KEY[k].needs != SYNFLOW]
        if grad_keys:
            torch.manual_seed(s)
            _score_gradient_pass(sheet, hooks, model, dev_batch, semantics, grad_keys, build)
        syn_keys = [k for k in model_keys if BY_KEY[k].needs == SYNFLOW]
        if syn_keys:
            torch.manual_seed(s)
            _score_synflow_pass(sheet, hooks, model, dev_batch, semantics, syn_keys, build)
        del model
    return ArchScores(record.id, sheet.scores, sheet.seconds, sheet.errors)


def _score_gradient_pass(sheet: _Sheet, hooks: BaselineHooks, model: nn.Module,
                         batch: dict[str, torch.Tensor], semantics: str, keys: list[str],
                         build: float) -> None:
    """The baselines of one forward/backward (and GraSP's Hessian-gradient product)."""
    res = gradient_pass(hooks, model, batch, semantics, set(keys))
    fns = {**_gradient_scores(hooks, model, res), **_forward_scores(res)}
    if "jacobian_cosine" in keys:
        fns["jacobian_cosine"] = lambda: _jacobian(res)
    fwd = build + res.seconds.get("forward", 0.0)
    bwd = fwd + res.seconds.get("backward", 0.0)
    for key in keys:
        base = {FORWARD: fwd, GRADIENT: bwd, HESSIAN: bwd + res.seconds.get("hessian", 0.0)
                }.get(BY_KEY[key].needs, build)
        sheet.put(key, fns[key], base)


def _score_synflow_pass(sheet: _Sheet, hooks: BaselineHooks, model: nn.Module,
                        batch: dict[str, torch.Tensor], semantics: str, keys: list[str],
                        build: float) -> None:
    """Synflow and LogSynflow from one all-positive float64 pass."""
    try:
        w, g, secs = synflow_pass(hooks, model, batch, semantics)
    except Exception as exc:  # the pass failing makes both unavailable, nothing else
        for key in keys:
            sheet.fail(key, _reason(exc), 0.0)
        return
    fns = {"synflow": lambda: float(sum((w[m] * g[m]).abs().sum() for m in w)),
           "logsynflow": lambda: sum(_log_synflow(w[m], g[m]) for m in w)}
    for key in keys:
        sheet.put(key, fns[key], build + secs)


def _jacobian(res: GradientPass) -> float:
    if res.position_grad is None:
        raise BaselineUnavailable("the space has no learned position table")
    return jacobian_cosine(res.position_grad)


# ---------------------------------------------------------------------------------------------
# cache and parallel map


def cache_folder(root: str | Path, cfg: ExtractConfig, batch: dict[str, torch.Tensor]) -> Path:
    """Cache sub-folder for one (config, batch) combination, keyed like extraction's."""
    return extract_cache_folder(Path(root) / CACHE_SUBFOLDER, cfg, batch,
                                baselines=BASELINES_VERSION)


def _cache_file(folder: Path, arch_id: str) -> Path:
    return folder / f"{hashlib.sha1(arch_id.encode()).hexdigest()[:16]}.json"


def load_cached(folder: Path | None, arch_id: str, keys: list[str]) -> ArchScores | None:
    """Cached scores of one architecture if every key in ``keys`` is present, else None."""
    if folder is None:
        return None
    try:
        data = json.loads(_cache_file(folder, arch_id).read_text())
        got = ArchScores.from_json(data)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if got.id != arch_id or any(k not in got.scores for k in keys):
        return None
    return got


def save_cached(folder: Path, result: ArchScores) -> None:
    """Write one architecture's scores atomically."""
    atomic_json(_cache_file(folder, result.id), result.to_json(), sort_keys=True)


def _task(args) -> ArchScores:
    """Process-pool task (module level, spawn-safe): score one architecture."""
    space, record, arrays, cfg, keys, threads = args
    batch = {k: torch.from_numpy(v) for k, v in arrays.items()}
    if threads:
        torch.set_num_threads(threads)
    try:
        return score_architecture(space, record, cfg.variant, batch,
                                  cfg.semantics, cfg.seed, keys, cfg.device)
    except Exception as exc:  # a model that cannot be built fails only its own row
        msg = _reason(exc)
        return ArchScores(record.id, dict.fromkeys(keys, float("nan")), {},
                          dict.fromkeys(keys, msg))


def score_many(space: Space, records: list[Record], batch: dict[str, torch.Tensor],
               cfg: ExtractConfig, keys: list[str], cache_dir: str | None = None,
               mapper=None, progress: Callable[[ArchScores], None] | None = None,
               threads: int | None = None) -> list[ArchScores]:
    """Scores of every record, in order; cached ones are loaded, new ones cached."""
    folder = cache_folder(cache_dir, cfg, batch) if cache_dir else None
    out: dict[str, ArchScores] = {}
    todo = []
    for r in records:
        hit = load_cached(folder, r.id, keys)
        if hit is not None:
            out[r.id] = hit
            if progress:
                progress(hit)
        else:
            todo.append(r)
    # numpy, not tensors: torch pickles every tensor into its own shared-memory file, and a
    # few hundred queued tasks then exhaust the open-file limit and stall the pool
    arrays = {k: v.detach().cpu().numpy() for k, v in batch.items()}
    tasks = [(space, r, arrays, cfg, keys, threads) for r in todo]
    for res in stream(mapper or map, _task, tasks):
        if folder is not None and len(res.errors) < len(keys):
            write_key(folder, cache_key(cfg, batch, baselines=BASELINES_VERSION))
            save_cached(folder, res)
        out[res.id] = res
        if progress:
            progress(res)
    return [out[r.id] for r in records]
