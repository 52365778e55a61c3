"""What a proxy's statistics add beyond shapes: its information label, cost class and precision.

* **Information.** Two measures of how much of a proxy's ranking the architecture alone
  decides, on the same architectures: the Spearman rho between its scores on the real
  statistics and on the null control (:mod:`lpzero_gp.stats.null`: noise that depends on
  shapes only; a proxy constant on null statistics has rho 0), and the Spearman rho with which
  a formula of the config features (:func:`lpzero_gp.search.formula.config_rho`, searched to
  reproduce the proxy's own scores) ranks like the proxy. The larger of the two decides the label:
  ``>= 0.9``: *shape-only*; ``0.5 <= x < 0.9``: *partly*; below 0.5: *statistics-driven*. The
  null control misses what the init scale or an input's kind fixes for a given shape; the
  config formula catches that.
* **Cost.** What a proxy needs: nothing but the config (a feature), the weights (no forward
  pass), a forward pass (A, H, S), or a backward pass too (G, J).
* **Precision.** Scores are ranked at 6 significant digits
  (:func:`~lpzero_gp.score.fitness.settle`); a ranking that changes by more than 0.01 when
  they are cut to 4 digits rests on differences that float32 statistics barely resolve, and
  is flagged.
"""

from __future__ import annotations

import numpy as np
from deap import gp

from lpzero_gp.score.fitness import invalid_reason, settle, spearman

#: |rho(real, null)| at or above which a proxy is shape-only, and partly.
SHAPE_ONLY, PARTLY = 0.9, 0.5
#: Labels, from least to most information beyond shapes.
LABELS = ("shape-only", "partly", "statistics-driven")
#: Cost classes, cheapest first, with the inputs each one needs.
COSTS: tuple[tuple[str, frozenset[str]], ...] = (
    ("config", frozenset()),
    ("weights", frozenset({"W"})),
    ("forward", frozenset({"W", "A", "H", "S"})),
    ("backward", frozenset({"W", "A", "H", "S", "G", "J"})),
)
#: Digits of the coarse ranking the precision check compares with, and its tolerance.
COARSE_DIGITS, PRECISION_TOLERANCE = 4, 0.01


def real_null_rho(real, null) -> float:
    """Spearman rho between a proxy's scores on real and on null statistics (settled as for
    ranking); 0 when the null scores are constant (no shape information), nan when either side
    cannot be ranked (nan, overflow, constant real scores)."""
    r, n = settle(np.asarray(real, float)), settle(np.asarray(null, float))
    why = invalid_reason(n)
    if invalid_reason(r) or why not in ("", "constant scores"):
        return float("nan")
    return 0.0 if why else spearman(r, n)


def label(rho_real_null: float) -> str:
    """The information label of a real-vs-null rho ('undefined' for nan)."""
    if not np.isfinite(rho_real_null):
        return "undefined"
    a = abs(rho_real_null)
    return LABELS[0] if a >= SHAPE_ONLY else LABELS[1] if a >= PARTLY else LABELS[2]


def information(real, null, rho_config: float = float("nan")) -> dict:
    """``{"rho_real_null", "rho_config", "label"}`` of one proxy, JSON-ready; the label comes
    from the larger of |rho(real, null)| and |rho_config| (nan ones left out)."""
    rho = real_null_rho(real, null)
    known = [abs(x) for x in (rho, rho_config) if np.isfinite(x)]
    return {"rho_real_null": rho, "rho_config": rho_config,
            "label": label(max(known)) if known else "undefined"}


def config_labels() -> dict:
    """The information, cost and precision entries of a row computed from the configs alone
    (a feature, the config formula), as every report row carries them."""
    return {"information": {"rho_real_null": 1.0, "label": "config"}, "cost": "config",
            "precision_limited": False}


def inputs_of(tree: gp.PrimitiveTree) -> frozenset[str]:
    """The input letters a proxy tree reads."""
    from lpzero_gp.primitives.pset import INPUTS
    from lpzero_gp.proxy.parse import plain_name

    names = {plain_name(node) for node in tree if node.arity == 0}
    return frozenset(n for n in names if n in INPUTS)


def cost_class(inputs: frozenset[str]) -> str:
    """The cheapest cost class whose pass gives every input in ``inputs``."""
    for name, needs in COSTS:
        if inputs <= needs:
            return name
    raise ValueError(f"unknown inputs {sorted(inputs)}")


def precision_flag(scores, truth) -> bool:
    """True when the ranking rests on the 5th and 6th significant digits: Spearman rho at 6
    and at :data:`COARSE_DIGITS` digits differ by more than :data:`PRECISION_TOLERANCE`."""
    s = np.asarray(scores, float)
    t = np.asarray(truth, float)
    fine, coarse = settle(s), settle(s, COARSE_DIGITS)
    if invalid_reason(fine):
        return False
    if invalid_reason(coarse):
        return True  # every difference is below 4 significant digits
    return abs(spearman(fine, t) - spearman(coarse, t)) > PRECISION_TOLERANCE

__all__ = [
    "config_labels", "cost_class", "information", "inputs_of", "label", "precision_flag",
    "real_null_rho",
]
