"""Every module declares its public names in ``__all__``, and each name it lists exists.

``__all__`` is what other modules, the tests, the scripts and users import; names a module keeps
for itself stay out of it (docs/api.md lists the API a user imports).
"""

from __future__ import annotations

import ast
import importlib

import pytest
from test_architecture import MODULES


def _declared(module: str) -> list[str] | None:
    for node in ast.parse(MODULES[module].read_text()).body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return list(ast.literal_eval(node.value))
    return None


@pytest.mark.parametrize("module", sorted(m for m in MODULES if not m.endswith("__main__")))
def test_every_module_declares_all(module):
    names = _declared(module)
    assert names is not None, f"{module} declares no __all__"
    assert len(names) == len(set(names)), f"{module}: __all__ lists a name twice"


@pytest.mark.parametrize("module", sorted(m for m in MODULES
                                          if _declared(m) and not m.endswith("__main__")))
def test_every_listed_name_exists(module):
    mod = importlib.import_module(module)
    missing = [n for n in _declared(module) if not hasattr(mod, n)]
    assert not missing, f"{module}.__all__ lists missing names {missing}"


def test_dir_of_the_package_is_its_api():
    import lpzero_gp

    assert [n for n in dir(lpzero_gp) if not n.startswith("_")] == sorted(
        n for n in lpzero_gp.__all__ if not n.startswith("_"))
