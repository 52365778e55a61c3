"""Version metadata: one version string, defined in the base layer, recorded with results."""

from __future__ import annotations

import ast
from pathlib import Path

import lpzero_gp
from lpzero_gp import versions as versions_module
from lpzero_gp.versions import __version__, versions


def test_the_version_is_defined_once_in_the_base_layer():
    assert lpzero_gp.__version__ == __version__
    tree = ast.parse(Path(versions_module.__file__).read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(m == "lpzero_gp" or m.startswith("lpzero_gp.") for m in imported)


def test_versions_lists_lpzero_gp_python_and_packages():
    got = versions()
    assert list(got)[:2] == ["lpzero_gp", "python"] and got["lpzero_gp"] == __version__
    assert {"torch", "numpy"} <= set(got)
    assert versions("no-such-package-here")["no-such-package-here"] == "not installed"
