"""Property tests: arbitrary text never crashes the parser, random trees never crash evaluation."""

from __future__ import annotations

import random

import pytest
import torch
from deap import gp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from toy import toy_raw

from lpzero_gp.errors import ProxyError
from lpzero_gp.primitives import ALL_OVERLOADS, OPS_BY_NAME, make_pset
from lpzero_gp.proxy.generate import gen_lpzero, gen_typed
from lpzero_gp.proxy.genotype import Genotype, genotype_tree
from lpzero_gp.proxy.parse import ALIASES, format_tree, parse_tree
from lpzero_gp.score.evaluate import Evaluator
from lpzero_gp.stats.store import Dataset, compact

PSET = make_pset()
NAMES = sorted(set(OPS_BY_NAME) | set(ALL_OVERLOADS) | set(ALIASES))
INPUT_NAMES = list(PSET.arguments)
JUNK = ["", " ", "\t", "\n", "x", "_", "__import__", "os", "lambda", ":", ";", ".", "'", '"',
        "0", "1e9", "-", "+", "*", "[", "]", "{", "}", "#", "\\", "\x00", "é", "∑", "agg",
        "import", "eval", "H.T", "()", "(,)", ",,"]

_TOKEN = st.one_of(st.sampled_from(NAMES), st.sampled_from(INPUT_NAMES),
                   st.sampled_from(["(", ")", ","]), st.sampled_from(JUNK))
_TOKENS = st.lists(_TOKEN, max_size=40).map("".join)
_SPACED = st.lists(_TOKEN, max_size=40).map(" ".join)
_TEXT = st.text(alphabet=st.sampled_from(list("()(),,  AHSJGWagmeanlsu_qrtbdfixp0129.;:'\"\\")),
                max_size=80)
_ANY_TEXT = st.text(max_size=60)
_STRINGS = st.one_of(_TOKENS, _SPACED, _TEXT, _ANY_TEXT)


@settings(max_examples=500, deadline=None, database=None)
@given(_STRINGS)
def test_any_string_gives_a_tree_or_proxy_error(text: str):
    try:
        tree = parse_tree(text, PSET)
    except ProxyError as err:
        msg = str(err)
        assert msg and "\n" not in msg
        return
    assert isinstance(tree, gp.PrimitiveTree)
    assert parse_tree(format_tree(tree), PSET) is not None


def _nested_near_miss(draw_ops: list[str], leaf: str) -> str:
    text = leaf
    for name in draw_ops:
        text = f"{name}({text})"
    return text


@settings(max_examples=500, deadline=None, database=None)
@given(st.lists(st.sampled_from(NAMES), min_size=1, max_size=8),
       st.sampled_from(INPUT_NAMES + ["X", "h", "agg_mean"]),
       st.integers(min_value=0, max_value=3))
def test_well_formed_calls_give_a_tree_or_proxy_error(ops: list[str], leaf: str, drop: int):
    """Syntactically valid nestings of real op names: typing decides, never a crash."""
    text = _nested_near_miss(ops, leaf)
    text = text[: len(text) - drop] if drop else text  # sometimes unbalanced
    try:
        tree = parse_tree(text, PSET)
    except ProxyError as err:
        assert "\n" not in str(err)
        return
    assert format_tree(tree).replace(" ", "") != ""


_UNARY_NAMES = sorted(set(OPS_BY_NAME) | set(ALIASES)) + ["nonsense"]


@settings(max_examples=300, deadline=None, database=None)
@given(st.sampled_from(INPUT_NAMES + ["Q"]), st.sampled_from(INPUT_NAMES),
       st.lists(st.sampled_from(_UNARY_NAMES), min_size=1, max_size=4),
       st.lists(st.sampled_from(_UNARY_NAMES), min_size=1, max_size=4),
       st.sampled_from(["add", "sub", "mul", "div", "mean", "agg_sum", "pow"]))
def test_random_genotypes_give_a_tree_or_proxy_error(in1, in2, u1, u2, b):
    try:
        tree = genotype_tree(Genotype(in1, in2, tuple(u1), tuple(u2), b), PSET)
    except ProxyError as err:
        assert "\n" not in str(err)
        return
    assert isinstance(tree, gp.PrimitiveTree)


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    stats = [compact(toy_raw(1, 8, 0, d=4, batch=2), budget=16),
             compact(toy_raw(2, 12, 1, d=4, batch=2), budget=16),
             compact(toy_raw(3, 8, 2, d=4, batch=2), budget=16)]
    return Evaluator(Dataset.from_stats(stats))


def _assert_scores(out, n: int) -> None:
    if out is None:
        return
    assert out.shape == (n,)
    assert bool((torch.isfinite(out) | torch.isnan(out)).all())


@settings(max_examples=500, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=0, max_value=2**32 - 1), st.integers(min_value=1, max_value=8))
def test_random_trees_evaluate_to_finite_or_nan(evaluator: Evaluator, seed: int, max_h: int):
    random.seed(seed)
    tree = gp.PrimitiveTree(gen_typed(PSET, 1, max_h))
    _assert_scores(evaluator.score(tree), evaluator.dataset.n_archs)


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=0, max_value=2**32 - 1), st.integers(min_value=1, max_value=4))
def test_random_lpzero_trees_evaluate_to_finite_or_nan(evaluator: Evaluator, seed: int,
                                                      n_unary: int):
    random.seed(seed)
    tree = gen_lpzero(PSET, n_unary=n_unary, aggregations=("agg_mean", "agg_sum"))
    _assert_scores(evaluator.score(tree), evaluator.dataset.n_archs)


# -- the bounded JSON reader ------------------------------------------------------------------

_JSON_ALPHABET = st.sampled_from(list('[]{}",:\\ 0123456789-.eEtrufalsn') + ["\x00", "é"])
_JSON_TEXT = st.one_of(st.text(alphabet=_JSON_ALPHABET, max_size=80), st.text(max_size=40))
_JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(alphabet=st.sampled_from(list('ab[]{}"\\ ')), max_size=6)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=20)


def _depth(value) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


@settings(max_examples=500, deadline=None, database=None)
@given(_JSON_TEXT)
def test_any_text_gives_a_value_or_one_typed_line(text: str):
    from lpzero_gp.errors import SpaceError
    from lpzero_gp.jsonfile import loads_json

    try:
        loads_json(text, "fuzz")
    except SpaceError as err:
        assert str(err).startswith("fuzz: ") and "\n" not in str(err)


@settings(max_examples=300, deadline=None, database=None)
@given(_JSON_VALUES, st.integers(min_value=0, max_value=3))
def test_nesting_depth_is_the_true_depth(value, indent: int):
    import json

    from lpzero_gp.jsonfile import loads_json, nesting_depth

    text = json.dumps(value, indent=indent or None)
    assert nesting_depth(text) == _depth(value)
    assert loads_json(text, "fuzz") == value
