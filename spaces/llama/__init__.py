"""LoNAS-style LLaMA space: an elastic-LoRA super-network whose sub-networks a proxy ranks.

``LonasSpace`` is the group table (attention adapter rank, MLP width, MLP adapter rank per
layer) with its flat NNCF-style configs; ``LonasSupernet`` is a peft-wrapped
``LlamaForCausalLM`` that activates a sub-network by slicing; ``collect_subnet`` reads the
proxy inputs of one sub-network; ``LlamaSpace`` makes the sub-networks the architectures of
a space, and ``LlamaSubnets`` is its sub-network capability (``LlamaSpace.subnets``), through
which the engine scores and searches them.
"""

from .cost import SubnetCost, subnet_cost, subnet_params
from .ground_truth import TrainingSetup, load_ground_truth, short_training_truth
from .inputs import collect_subnet
from .memory import estimate_memory
from .space import LLAMA_7B, LLAMA_13B, LonasSpace, ModelDims, Subnet
from .subnet_space import LlamaSpace
from .subnets import LlamaSubnets
from .supernet import TINY_CONFIG, LonasSupernet

__all__ = [
    "LLAMA_7B",
    "LLAMA_13B",
    "LlamaSpace",
    "LlamaSubnets",
    "TINY_CONFIG",
    "LonasSpace",
    "LonasSupernet",
    "ModelDims",
    "Subnet",
    "SubnetCost",
    "TrainingSetup",
    "collect_subnet",
    "estimate_memory",
    "load_ground_truth",
    "short_training_truth",
    "subnet_cost",
    "subnet_params",
]
