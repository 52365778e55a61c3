"""The free rows every proxy is judged against: what the architecture alone predicts.

Two rows cost nothing but the configs: the best single feature (``params``, ``layers``,
``hidden``, ...; chosen on the search split, never on the held-out one) and the config formula,
the same GP searched over the space's features (:mod:`lpzero_gp.search.formula`) on the same
search split with the same budget. A proxy over statistics is worth only what it adds over
both; :func:`comparisons` gives the paired bootstrap of a proxy against each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lpzero_gp.spaces.base import Record

#: Name of the config-formula row in every report.
CONFIG_FORMULA = "config-formula"


@dataclass
class FreeRows:
    """The best single feature and the config formula, both chosen on the search split."""

    best_feature: str
    best_feature_search_rho: float
    formula: str
    formula_search_rho: float

    def scores(self, loaded, records: list[Record]) -> dict[str, np.ndarray]:
        """Both rows' scores on ``records`` (name -> one score per record)."""
        from lpzero_gp.search.formula import formula_scores

        feats = [loaded.space.features(r, loaded.variant) for r in records]
        return {self.best_feature: np.array([f[self.best_feature] for f in feats], dtype=float),
                CONFIG_FORMULA: formula_scores(self.formula, feats)}

    def to_json(self) -> dict:
        """The rows as stored in a summary (the formula with it)."""
        return {"best_feature": self.best_feature,
                "best_feature_search_rho": self.best_feature_search_rho,
                "config_formula": self.formula, "config_formula_search_rho":
                    self.formula_search_rho}


def free_rows(loaded, search_records: list[Record], population: int, offspring: int,
              generations: int, seed: int) -> FreeRows:
    """The best feature and the config formula of ``search_records`` (the search budget)."""
    from lpzero_gp.score.fitness import rank
    from lpzero_gp.search.formula import search_formula

    feats = [loaded.space.features(r, loaded.variant) for r in search_records]
    truth = np.array([r.truth for r in search_records])
    ranks = {name: rank(np.array([f[name] for f in feats], dtype=float), truth,
                        with_tau=False).fitness for name in feats[0]}
    best = max(ranks, key=lambda k: (ranks[k], k))
    formula = search_formula(feats, truth, population=population, offspring=offspring,
                             generations=generations, seed=seed)
    return FreeRows(best, ranks[best], formula.text, formula.rho)


def try_free_rows(loaded, search_records: list[Record], population: int, offspring: int,
                  generations: int, seed: int) -> FreeRows | None:
    """:func:`free_rows`, or None when no config feature varies on ``search_records``."""
    from lpzero_gp.errors import SpaceError

    try:
        return free_rows(loaded, search_records, population, offspring, generations, seed)
    except SpaceError:
        return None


def comparisons(name: str, scores: np.ndarray, free: dict[str, np.ndarray], truth) -> list[dict]:
    """Paired bootstrap of proxy ``name`` against each free row on the same architectures."""
    from lpzero_gp.score.correlate import paired_entry

    return [paired_entry(name, other, scores, values, truth) for other, values in free.items()]


def verdict(label: str, entries: list[dict], alpha: float = 0.05) -> str:
    """One plain sentence: is the proxy statistics-driven, and does it beat every free row
    significantly (one-sided paired bootstrap P < ``alpha``)?"""
    beats = [e for e in entries if not e["reason"] and e["diff"] > 0 and e["p_le_zero"] < alpha]
    names = ", ".join(e["b"] for e in entries)
    if label != "statistics-driven":
        head = f"the proxy is {label}: its ranking is largely what the shapes alone give"
    else:
        head = "the proxy is statistics-driven"
    if entries and len(beats) == len(entries):
        return f"{head}; it beats {names} (paired P < {alpha})"
    return f"{head}; it does not beat every free row significantly ({names}; paired P < {alpha} " \
           f"needed)"


def free_for(loaded, seed: int, recs: list):
    """The free rows (best feature, config formula) chosen on the space's search split with
    the default budget, and a note when the evaluated architectures include that split."""
    from lpzero_gp.errors import LpzeroError, OptionError
    from lpzero_gp.workflows.options import BUDGETS
    from lpzero_gp.workflows.splits import MIN_ARCHS, pick

    try:
        search = pick(loaded.records, "search", loaded.space, loaded.packaged, seed,
                      "--search-archs")
        pop, off, evals = BUDGETS["default"]
        free = free_rows(loaded, search, pop, off, -(-evals // off), seed)
    except OptionError:  # no option of this command changes the search split: say what it is
        return None, (f"no config formula: the search split of this {len(loaded.records)}-"
                      f"record benchmark holds fewer than the {MIN_ARCHS} architectures it is "
                      "searched on")
    except LpzeroError as exc:  # no varying feature
        return None, f"no config formula: {exc}"
    shared = len({r.id for r in search} & {r.id for r in recs})
    note = (f"the config formula was searched on {shared} of these architectures (the search "
            "split); judge it on validation or test" if shared else "")
    return free, note

__all__ = ["CONFIG_FORMULA", "comparisons", "free_for", "try_free_rows", "verdict"]
