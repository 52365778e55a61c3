"""scripts/llama_table5.py: one search per proxy and the perplexity search in one call, on the
tiny Llama (ids taken modulo its vocabulary), within the budget."""

from __future__ import annotations

import torch
from run_check import load_script


def test_each_proxy_gets_its_own_search_and_the_perplexity_search_follows():
    from lpzero_gp.spaces import get_space
    from lpzero_gp.spaces.llama.finetune import windows
    from lpzero_gp.stats.calibration import stream_batch
    from lpzero_gp.workflows.subnets import SearchSettings, budget_limit

    mod = load_script("llama_table5")
    torch.manual_seed(0)
    subnets = get_space("llama", model="tiny").subnets(0, "cpu")
    vocab = int(subnets.supernet.model.config.vocab_size)
    ids = torch.randint(0, vocab, (600,))
    batch = stream_batch(ids.numpy(), 2, 16, vocab)
    rows = windows(ids, 32, 2)
    settings = SearchSettings(population=3, offspring=3, generations=1, top_k=1, seed=1,
                              budget_params=0.8)
    found = mod.searches(subnets, batch, rows, ["agg_mean(fro(W))", "params"], settings,
                         progress=False)
    assert list(found) == ["proxy search: agg_mean(fro(W))", "proxy search: params",
                           "perplexity search"]
    limit = budget_limit(subnets, 0.8)
    for name, (config, seconds, evaluated, proxy) in found.items():
        assert subnets.cost(config).params <= limit
        assert seconds > 0 and evaluated > 0
        assert proxy is None if name == "perplexity search" else name.endswith(proxy)
