"""``lpzero-gp subnets`` works for any space that declares the sub-network capability.

A toy space outside the package (the plugin toy LM, made elastic in depth and MLP width)
implements :class:`SubnetSearchSpace`; the command searches it through the registry, keeps the
parameter budget and repeats byte for byte.
"""

from __future__ import annotations

import copy
import csv
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from lpzero_gp.cli import main
from lpzero_gp.errors import SpaceError
from lpzero_gp.spaces import REGISTRY, register
from lpzero_gp.spaces.base import Record, SubnetSearchSpace

PLUGIN = Path(__file__).resolve().parent / "plugin"
DEPTHS, WIDTHS, D = (2, 1), (32, 16, 8), 16


@pytest.fixture(scope="module")
def toy():
    sys.path.insert(0, str(PLUGIN))
    try:
        from toyspace import ToySpace
    finally:
        sys.path.remove(str(PLUGIN))
    return ToySpace


def _sliced(full: nn.Module, depth: int, width: int) -> nn.Module:
    """The sub-network sharing the super-network's weights: first ``depth`` blocks, first
    ``width`` MLP units."""
    sub = copy.deepcopy(full)
    sub.blocks = nn.ModuleList(list(sub.blocks)[:depth])
    for block in sub.blocks:
        fc1, fc2 = block.fc1, block.fc2
        block.fc1 = nn.Linear(D, width)
        block.fc2 = nn.Linear(width, D)
        with torch.no_grad():
            block.fc1.weight.copy_(fc1.weight[:width])
            block.fc1.bias.copy_(fc1.bias[:width])
            block.fc2.weight.copy_(fc2.weight[:, :width])
            block.fc2.bias.copy_(fc2.bias)
    return sub


def _subnets_class(space_cls):
    class ToySubnets(SubnetSearchSpace):
        name = "toy-elastic"
        feature_names = ("params", "layers")
        table_features = ("params",)
        default_proxy = "params"

        def __init__(self, seed: int):
            self.space, self.seed, self._full = space_cls(), seed, None

        @property
        def choices(self):
            return (len(DEPTHS), len(WIDTHS))

        def validate(self, config):
            config = tuple(int(v) for v in config)
            if len(config) != 2 or config[0] not in DEPTHS or config[1] not in WIDTHS:
                raise SpaceError(f"toy sub-network {config}: need (depth, width)")
            return config

        def encode(self, config):
            depth, width = self.validate(config)
            return (DEPTHS.index(depth), WIDTHS.index(width))

        def decode(self, genes):
            return (DEPTHS[genes[0]], WIDTHS[genes[1]])

        def maximal(self):
            return (DEPTHS[0], WIDTHS[0])

        def minimal(self):
            return (DEPTHS[-1], WIDTHS[-1])

        def named(self):
            return {"maximal": self.maximal(), "minimal": self.minimal()}

        def _record(self, config):
            return Record("sub", {"depth": config[0], "d": D, "width": config[1]}, 0.0)

        def features(self, config):
            return {"params": self.space.num_params(self._record(config), "default"),
                    "layers": config[0]}

        def collect(self, config, batch, letters=("A", "H", "S", "J", "G", "W")):
            if self._full is None:
                self._full = self.space.build(self._record(self.maximal()), "default",
                                              self.seed)
            return self.space.collect(_sliced(self._full, *config), batch)

        def describe(self):
            return {"super-network": f"toy {DEPTHS[0]} x {D} x {WIDTHS[0]}"}

    class ElasticToySpace(space_cls):
        name = "toy-elastic"
        has_subnets = True

        def subnets(self, seed, device="cpu"):
            return ToySubnets(seed)

    return ElasticToySpace


@pytest.fixture
def elastic(toy):
    register("toy-elastic", _subnets_class(toy))
    yield "toy-elastic"
    REGISTRY.pop("toy-elastic")


def _run(out: Path, *extra: str) -> list[dict]:
    argv = ["subnets", "--space", "toy-elastic", "--quiet", "--generations", "2",
            "--population", "4", "--seq-len", "16", "--batch-size", "2", "--out", str(out),
            *extra]
    assert main(argv) == 0
    with open(out / "subnets.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_subnets_searches_a_plugin_space_within_budget_and_repeats(toy, elastic, tmp_path):
    rows = _run(tmp_path / "a", "--proxy", "agg_mean(l1(G))", "--budget-params", "0.99")
    full = toy().num_params(Record("x", {"depth": DEPTHS[0], "d": D, "width": WIDTHS[0]}, 0.0),
                            "default")
    assert rows, "no sub-network written"
    assert all(int(r["params"]) <= 0.99 * full for r in rows)
    assert {r["config"] for r in rows} <= {f"{d} {w}" for d in DEPTHS for w in WIDTHS}
    again = _run(tmp_path / "b", "--proxy", "agg_mean(l1(G))", "--budget-params", "0.99")
    assert (tmp_path / "a" / "subnets.csv").read_bytes() == \
        (tmp_path / "b" / "subnets.csv").read_bytes()
    assert again == rows


def test_the_space_default_proxy_is_used(elastic, tmp_path):
    rows = _run(tmp_path / "c")
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == max(float(r["params"]) for r in rows)
