"""Tests of the typed primitive set: op coverage, numerical safety, purity and typing rules."""

from __future__ import annotations

import pytest
import torch
from deap import gp

from lpzero_gp.errors import ProxyError
from lpzero_gp.primitives import (
    ALL_OVERLOADS,
    PRUNED,
    TABLE7_BINARY,
    TABLE7_UNARY,
    Blocks,
    Layer,
    Layerwise,
    Layout,
    ParamList,
    Score,
    TensorList,
    check_op_safety,
    make_pset,
)
from lpzero_gp.proxy.parse import parse_tree
from lpzero_gp.score.evaluate import Evaluator
from lpzero_gp.stats.store import Dataset, compact

PSET = make_pset()

# Two architectures: arch 0 has blocks 0 and 1, arch 1 has block 2. Two shape groups.
LAYOUT = Layout(
    (torch.tensor([0, 1, 2]), torch.tensor([1, 2])),
    (torch.tensor([12.0, 12.0, 12.0], dtype=torch.float64),
     torch.tensor([40.0, 80.0], dtype=torch.float64)),
    torch.tensor([0, 0, 1]),
    2,
)


def _fill(kind: str, shape: tuple[int, ...], dtype=torch.float32) -> torch.Tensor:
    """Test data: all zeros, all negative, huge values of both signs, or tiny around zero."""
    n = 1
    for s in shape:
        n *= s
    base = torch.linspace(0.1, 1.0, n, dtype=dtype).reshape(shape)
    if kind == "zeros":
        return torch.zeros(shape, dtype=dtype)
    if kind == "negative":
        return -3.0 * base
    if kind == "huge":
        sign = torch.where(torch.arange(n) % 2 == 0, 1.0, -1.0).reshape(shape).to(dtype)
        return 1e30 * sign * (1 + base)
    if kind == "huge_positive":
        return torch.full(shape, 1e30, dtype=dtype)
    if kind == "huge_negative":
        return torch.full(shape, -1e30, dtype=dtype)
    if kind == "tiny":
        return (base - 0.55) * 1e-9
    raise ValueError(kind)


def _value(t: type, kind: str):
    """A value of primitive-set type ``t`` filled with test data."""
    if t in (TensorList, ParamList):
        return Blocks((_fill(kind, (3, 3, 4)), _fill(kind, (2, 5, 8))), LAYOUT)
    if t is Layerwise:
        return Layer(_fill(kind, (3,), torch.float64), LAYOUT.block_arch, LAYOUT.n_archs)
    if t is Score:
        return _fill(kind, (2,), torch.float64)
    raise TypeError(t)


def _tensors(v) -> list[torch.Tensor]:
    if isinstance(v, Blocks):
        return list(v.groups)
    if isinstance(v, Layer):
        return [v.values]
    return [v]


KINDS = ("zeros", "negative", "huge", "huge_positive", "huge_negative", "tiny")


def test_make_pset_is_typed_primitive_set():
    assert isinstance(PSET, gp.PrimitiveSetTyped)
    assert PSET.ret is Score
    assert list(PSET.arguments) == ["A", "H", "S", "J", "G", "W"]


def test_table7_ops_present():
    assert len(TABLE7_UNARY) == 20
    assert len(TABLE7_BINARY) == 4
    assert {"identity", "prune"} <= set(TABLE7_UNARY)
    assert set(TABLE7_BINARY) == {"add", "sub", "mul", "div"}
    registered = {ov.op.name for name, ov in ALL_OVERLOADS.items() if name in PSET.mapping}
    missing = (set(TABLE7_UNARY) | set(TABLE7_BINARY)) - registered
    assert not missing


def test_every_overload_is_registered():
    assert set(ALL_OVERLOADS) <= set(PSET.mapping)


@pytest.mark.parametrize("typed_name", sorted(ALL_OVERLOADS))
@pytest.mark.parametrize("kind", KINDS)
def test_op_finite_and_pure(typed_name: str, kind: str):
    ov = ALL_OVERLOADS[typed_name]
    fn = PSET.context[typed_name]  # the callable compiled trees use
    args = [_value(t, kind) for t in ov.args]
    before = [[t.clone() for t in _tensors(a)] for a in args]
    out = fn(*args)
    for a, saved in zip(args, before, strict=True):
        for now, then in zip(_tensors(a), saved, strict=True):
            assert torch.equal(now, then), f"{typed_name} modified its input"
    if ov.op.name == "prune":
        assert out is PRUNED
        return
    for t in _tensors(out):
        assert torch.isfinite(t).all(), f"{typed_name} not finite on {kind}: {t}"
    # the result has the declared type's shape
    if ov.ret in (TensorList, ParamList):
        assert isinstance(out, Blocks)
        assert [g.shape for g in out.groups] == [g.shape for g in args[0].groups]
    elif ov.ret is Layerwise:
        assert isinstance(out, Layer) and out.values.shape == (3,)
    else:
        assert isinstance(out, torch.Tensor) and out.shape == (2,)


@pytest.mark.parametrize("typed_name", [n for n, ov in ALL_OVERLOADS.items()
                                        if len(ov.args) == 2])
def test_binary_ops_with_a_pruned_side_return_the_other(typed_name: str):
    fn = PSET.context[typed_name]
    x = _value(ALL_OVERLOADS[typed_name].args[0], "negative")
    assert fn(PRUNED, x) is x
    assert fn(x, PRUNED) is x


def test_check_op_safety_passes():
    check_op_safety()


def test_reciprocal_one_sided_epsilon_is_finite():
    fn = PSET.context["reciprocal_T"]
    x = Blocks((torch.tensor([[[-1e-9, 0.0, 1e-9]]]),), Layout(
        (torch.tensor([0]),), (torch.tensor([3.0], dtype=torch.float64),), torch.tensor([0]), 1))
    assert torch.isfinite(fn(x).groups[0]).all()


def test_param_product_expressible():
    tree = parse_tree("agg_sum(l1(mul(G, W)))", PSET)
    assert str(tree) == "agg_sum(l1(mul(G, W)))"  # plain names; typed ones stay DEAP's keys
    g = [[torch.full((2, 3), 2.0)], [torch.full((4, 3), -1.0), torch.full((3,), 0.5)]]
    w = [[torch.full((2, 3), 3.0)], [torch.full((4, 3), 2.0), torch.full((3,), -4.0)]]
    raw = {"G": g, "W": w}
    ds = Dataset.from_stats([compact(raw, budget=10**9)])
    out = Evaluator(ds).score(tree)
    # block 0: |2*3| = 6; block 1: (12 * |-2| + 3 * |-2|) / 15 = 2; sum = 8
    assert out.tolist() == pytest.approx([8.0])
    # the compiled DEAP function gives the same
    fn = gp.compile(tree, PSET)
    direct = fn(*[ds.inputs[name] for name in PSET.arguments])
    assert direct.tolist() == pytest.approx([8.0])


@pytest.mark.parametrize("text", [
    "agg_mean(mean(add(A, H)))",
    "agg_mean(mean(mul(G, A)))",
    "agg_mean(mean(sub(H, W)))",
    "agg_mean(add(A, H))",
])
def test_binary_on_activation_lists_rejected(text: str):
    with pytest.raises(ProxyError):
        parse_tree(text, PSET)


@pytest.mark.parametrize("kwargs", [
    {"inputs": ("A", "X")},
    {"inputs": ()},
    {"inputs": ("activation",)},
    {"ops": ("mean", "agg_mean", "frobnicate")},
    {"ops": ("mean", "add")},  # no aggregation
    {"ops": ("agg_mean", "add")},  # no reduction
])
def test_make_pset_rejects_unknown_inputs_and_ops(kwargs):
    with pytest.raises(ValueError) as err:
        make_pset(**kwargs)
    assert "\n" not in str(err.value)


def test_restricted_pset():
    pset = make_pset(inputs=("A", "H"), ops=("mean", "abs", "add", "agg_mean"))
    assert list(pset.arguments) == ["A", "H"]
    parse_tree("agg_mean(add(mean(abs(A)), mean(H)))", pset)
    with pytest.raises(ProxyError):
        parse_tree("agg_mean(mean(W))", pset)
    with pytest.raises(ProxyError):
        parse_tree("agg_mean(mean(square(A)))", pset)
    # no parameter input: no ParamList overloads
    assert not [n for n in pset.mapping if n.endswith("_P")]
