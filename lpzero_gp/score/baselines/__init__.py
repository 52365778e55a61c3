"""Hand-crafted zero-cost proxies of the paper's Table 1, computed on a space's own models.

Every baseline follows docs/specs.md §6.2 ("implemented" columns). One architecture is scored by
building its model with the search's seed (:meth:`Space.model_seed`), running one
forward and one backward of the space's loss (with the Hessian-gradient product for GraSP) while
forward hooks read activations, then one all-positive double-precision pass for Synflow. A
space takes part through a small hooks object (``spaces/<name>/baseline_hooks.py``) that names
its module sets, position table and losses; a baseline whose inputs a space cannot supply is
reported as unavailable with the reason, never silently skipped.

Modules: ``catalog`` (what each baseline is), ``passes`` (the model passes), ``formulas`` (the
numbers from what the passes read), ``architecture`` (every baseline on one architecture),
``cache`` (per-architecture scores on disk, digest-checked) and ``tasks`` (many architectures
through a map).
"""

from __future__ import annotations

from lpzero_gp.score.baselines.architecture import (
    ArchScores,
    feature_score,
    score_architecture,
)
from lpzero_gp.score.baselines.cache import (
    SCORES_FORMAT,
    ScoresFileError,
    cache_file,
    cache_folder,
    read_cached,
    save_cached,
)
from lpzero_gp.score.baselines.catalog import (
    BASELINES,
    BASELINES_VERSION,
    BY_KEY,
    FEATURE,
    FORWARD,
    GRADIENT,
    HESSIAN,
    MODEL,
    MODULE_SETS,
    SYNFLOW,
    Baseline,
    BaselineUnavailable,
    check_keys,
)
from lpzero_gp.score.baselines.formulas import jacobian_cosine, nuclear_norm
from lpzero_gp.score.baselines.passes import GradientPass, gradient_pass, synflow_pass
from lpzero_gp.score.baselines.tasks import score_many

__all__ = [
    "BASELINES", "BASELINES_VERSION", "BY_KEY", "FEATURE", "FORWARD", "GRADIENT", "HESSIAN",
    "MODEL", "MODULE_SETS", "SCORES_FORMAT", "SYNFLOW", "ArchScores", "Baseline",
    "BaselineUnavailable", "GradientPass", "ScoresFileError", "cache_file", "cache_folder",
    "check_keys", "feature_score", "gradient_pass", "jacobian_cosine", "nuclear_norm",
    "read_cached", "save_cached", "score_architecture", "score_many", "synflow_pass",
]
