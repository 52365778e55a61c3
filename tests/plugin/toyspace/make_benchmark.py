"""Regenerate ``toy_benchmark.json``: twelve configs, truth measured by a short training.

``python tests/plugin/toyspace/make_benchmark.py`` (about half a minute on a small CPU).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from lpzero_gp.stats.calibration import lm_batch
from toyspace import DATA, VOCAB, ToyLM


def measured_truth(config: dict, seed: int = 0, steps: int = 20) -> float:
    """Minus the LM loss on a held-apart batch after ``steps`` Adam steps on a training batch."""
    torch.manual_seed(seed)
    model = ToyLM(**config)
    batch = lm_batch(8, 32, VOCAB)
    train = {k: v[:6] for k, v in batch.items()}
    test = {k: v[6:] for k, v in batch.items()}
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(steps):
        logits = model(train["input_ids"], {k: [] for k in "XAHS"})
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), train["labels"].flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        logits = model(test["input_ids"], {k: [] for k in "XAHS"})
        return -float(torch.nn.functional.cross_entropy(logits.flatten(0, 1),
                                                        test["labels"].flatten()))


def main() -> None:
    torch.set_num_threads(1)
    rows = []
    for depth in (1, 2, 3):
        for d, width in ((16, 32), (16, 64), (32, 64), (32, 128)):
            config = {"depth": depth, "d": d, "width": width}
            rows.append({"id": f"toy-{depth}-{d}-{width}", "config": config,
                         "truth": round(measured_truth(config), 6)})
    Path(DATA).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
