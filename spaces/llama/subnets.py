"""The llama space's sub-network capability: LoNAS sub-networks as the engine searches them.

:class:`LlamaSubnets` is what :meth:`LlamaSpace.subnets` gives ``lpzero-gp subnets``: the
genome is one index per free choice of the group table (:class:`.space.LonasSpace`), the cost
features are the analytic counts of :mod:`.cost`, and a config's inputs are read by
:func:`.inputs.collect_subnet` with the space's module set and loss. The super-network is built
on first use, so the results folder's name is known before any weights are loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from ..base import INPUT_NAMES, RawInputs, SubnetConfig, SubnetSearchSpace
from .cost import SubnetCost, subnet_cost
from .inputs import collect_subnet
from .space import LonasSpace
from .supernet import LonasSupernet

#: Above this many decoder-layer linear parameters, ``modules="auto"`` reads adapters only.
AUTO_ADAPTERS_ABOVE = 200_000_000


def resolve_modules(space: LonasSpace, modules: str) -> str:
    """``auto``: every linear up to :data:`AUTO_ADAPTERS_ABOVE` parameters, adapters above."""
    if modules != "auto":
        return modules
    big = subnet_cost(space, space.maximal()).params > AUTO_ADAPTERS_ABOVE
    return "adapters" if big else "all"


class LlamaSubnets(SubnetSearchSpace):
    """Sub-networks of one LoNAS super-network: genome, costs and inputs of a config.

    ``supernet`` is the super-network, or a function that builds it (called once, on first
    use); ``modules`` the W/G module set (``auto`` resolved from the model's size), ``loss``
    the backward's loss mode, ``name`` the model's short name.
    """

    feature_names = ("params", "total_params", "mlp_params", "macs", "adapter_params",
                     "frozen_params")
    table_features = ("params", "total_params", "adapter_params", "macs")
    default_proxy = "llama-best"
    packages = ("transformers", "peft")

    def __init__(self, supernet: LonasSupernet | Callable[[], LonasSupernet],
                 modules: str = "auto", loss: str = "lm", name: str = "") -> None:
        self._supernet = supernet if isinstance(supernet, LonasSupernet) else None
        self._build = None if isinstance(supernet, LonasSupernet) else supernet
        self._modules, self.loss, self.name = modules, loss, name

    @property
    def supernet(self) -> LonasSupernet:
        """The super-network (built on first use)."""
        if self._supernet is None:
            self._supernet = self._build()
        return self._supernet

    @property
    def lonas(self) -> LonasSpace:
        """The super-network's group table."""
        return self.supernet.space

    @property
    def modules(self) -> str:
        """The W/G module set, ``auto`` resolved."""
        return resolve_modules(self.lonas, self._modules)

    @property
    def choices(self) -> tuple[int, ...]:
        """Values of each free choice (tied ranks make one choice of two groups)."""
        return tuple(len(d.values) for d in self.lonas.dims_table)

    def validate(self, config: Sequence[Any]) -> SubnetConfig:
        """A flat NNCF value list checked against the group table."""
        return self.lonas.validate(config)

    def encode(self, config: Sequence[Any]) -> tuple[int, ...]:
        """Indices of a config's values in their lists."""
        return self.lonas.encode(config)

    def decode(self, genes: Sequence[int]) -> SubnetConfig:
        """The config of an index vector."""
        return self.lonas.decode(genes)

    def maximal(self) -> SubnetConfig:
        """The whole super-network."""
        return self.lonas.maximal()

    def minimal(self) -> SubnetConfig:
        """The smallest value of every group."""
        return self.lonas.minimal()

    def named(self) -> dict[str, SubnetConfig]:
        """The maximal, LoNAS heuristic and minimal sub-networks."""
        return {name: self.lonas.named(name) for name in ("maximal", "heuristic", "minimal")}

    def seeds(self) -> list[SubnetConfig]:
        """The heuristic, minimal and maximal sub-networks, in that order."""
        return [self.lonas.named(name) for name in ("heuristic", "minimal", "maximal")]

    def features(self, config: SubnetConfig) -> dict[str, int]:
        """The analytic costs of a config (:class:`.cost.SubnetCost`)."""
        return subnet_cost(self.lonas, config).as_dict()

    def cost(self, config: SubnetConfig) -> SubnetCost:
        """The typed costs of a config."""
        return subnet_cost(self.lonas, config)

    def collect(self, config: SubnetConfig, batch: dict[str, torch.Tensor],
                letters: Sequence[str] = INPUT_NAMES) -> RawInputs:
        """One forward/backward of the activated sub-network (see :mod:`.inputs`)."""
        return collect_subnet(self.supernet, config, batch, letters=letters,
                              modules=self.modules, loss=self.loss)

    def describe(self) -> dict[str, Any]:
        """The super-network's build facts, its group table, module set and loss."""
        return {**self.supernet.meta, "space": self.lonas.describe(), "modules": self.modules,
                "loss": self.loss}

__all__ = ["LlamaSubnets", "resolve_modules"]
