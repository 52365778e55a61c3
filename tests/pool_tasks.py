"""Process-pool test tasks in a module that imports no torch, so a spawned worker starts in a
fraction of a second and the pool tests time the pool, not the imports."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path


def pool_task(args: tuple[str, int, str]) -> int:
    """Process-pool test task (module level, so spawned workers can import it).

    ``("wait", i, path)`` waits up to 30 s for ``path`` when i == 5 and returns -1 if it never came;
    ``("die_once", i, path)`` kills its worker on i == 2 unless ``path`` marks a death already;
    ``("die_in_child", i, _)`` kills its worker on i == 2 whenever it runs in a child process.
    """
    kind, i, path = args
    if kind == "wait" and i == 5:
        deadline = time.monotonic() + 30
        while not Path(path).exists():
            if time.monotonic() > deadline:
                return -1
            time.sleep(0.05)
    if kind == "die_once" and i == 2 and not Path(path).exists():
        Path(path).touch()
        os._exit(1)
    if kind == "die_in_child" and i == 2 and multiprocessing.parent_process() is not None:
        os._exit(1)
    return i * i
