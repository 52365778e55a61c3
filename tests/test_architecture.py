"""The package's layering, read from the source (ast), so it cannot rot.

Layers point one way: base utilities <- primitives <- spaces <- proxy <- stats <- score <- search
<- workflows <- cli. A module may import its own layer and the layers below it, never one above;
imports form no cycle (those inside functions too); only ``lpzero_gp/cli`` imports click;
outside the spaces no code compares against a space's name or an option value a space
declares (a model name, a dtype); and spaces import nothing from the engine.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ROOT = REPO / "lpzero_gp"
#: Source folder of each package root: the op table and the spaces stand at the repository's top
#: level (the two things users extend) and are installed as ``lpzero_gp.primitives`` and
#: ``lpzero_gp.spaces``.
ROOTS = {"lpzero_gp": ROOT, "lpzero_gp.primitives": REPO / "primitives",
         "lpzero_gp.spaces": REPO / "spaces"}
#: Layer of each top-level part of the package (lower may not import higher).
LAYERS = {
    "errors": 0, "atomic": 0, "lock": 0, "jsonfile": 0, "versions": 0, "parallel": 0,
    "primitives": 1, "spaces": 2, "proxy": 3, "stats": 4, "score": 5, "search": 6,
    "workflows": 7, "cli": 8, "__main__": 8,
}
#: The package's ``__init__`` is the Python API: it may import any layer, lazily.
API = "lpzero_gp"


def _modules() -> dict[str, Path]:
    out = {}
    for package, folder in ROOTS.items():
        for path in folder.rglob("*.py"):
            parts = package.split(".") + list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if module == API or parts[0] != "lpzero_gp":
        return None
    return LAYERS[parts[1]]


def _package(module: str) -> str:
    path = MODULES[module]
    return module if path.name == "__init__.py" else module.rsplit(".", 1)[0]


def _imports(module: str, top_level_only: bool = False) -> set[str]:
    """lpzero_gp modules imported by ``module`` (relative imports resolved)."""
    tree = ast.parse(MODULES[module].read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = _package(module).split(".")
                pkg = pkg[: len(pkg) - node.level + 1]
                base = ".".join(pkg + ([base] if base else []))
            for a in node.names:
                full = f"{base}.{a.name}"
                out.add(full if full in MODULES else base)
    return {m for m in out if m.split(".")[0] == "lpzero_gp"}


def _resolve(name: str) -> str:
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def test_every_module_has_a_layer():
    for module in MODULES:
        if module != API:
            assert module.split(".")[1] in LAYERS, f"{module} belongs to no layer"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != API))
def test_no_module_imports_a_layer_above_it(module):
    mine = _layer(module)
    for imported in _imports(module):
        target = _resolve(imported)
        if target == API:
            continue
        assert _layer(target) <= mine, f"{module} (layer {mine}) imports {target}"


def test_imports_have_no_cycle():
    """Imports inside functions count: a cycle hidden in a function is still a cycle."""
    graph = {m: {_resolve(i) for i in _imports(m)} - {m} for m in MODULES}
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for n in graph.get(m, ()):
            assert state.get(n) != 1, "import cycle: " + " -> ".join(path + [m, n])
            if n not in state:
                visit(n, path + [m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])


def _names_of_imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("module", sorted(m for m in MODULES if ".cli" not in m + "."))
def test_only_the_cli_imports_click(module):
    if module.startswith("lpzero_gp.cli"):
        return
    assert "click" not in _names_of_imports(MODULES[module]), f"{module} imports click"


def _space_names() -> set[str]:
    return {p.name for p in ROOTS["lpzero_gp.spaces"].iterdir()
            if p.is_dir() and (p / "__init__.py").is_file()}


def _literal_hits(module: str, literals: set[str]) -> list[tuple[int, str, str]]:
    """(line, what, value) for each comparison against, or dict key of, one of ``literals``."""
    hits = []
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Compare):
            consts = [c for c in [node.left, *node.comparators] if isinstance(c, ast.Constant)]
            for c in node.comparators:
                if isinstance(c, ast.Tuple | ast.List | ast.Set):
                    consts += [e for e in c.elts if isinstance(e, ast.Constant)]
            hits += [(node.lineno, "compares against", c.value) for c in consts
                     if isinstance(c.value, str) and c.value in literals]
        if isinstance(node, ast.Dict):
            hits += [(node.lineno, "keys a dict by", k.value) for k in node.keys
                     if isinstance(k, ast.Constant) and isinstance(k.value, str)
                     and k.value in literals]
    return hits


@pytest.mark.parametrize("module", sorted(m for m in MODULES
                                          if not m.startswith("lpzero_gp.spaces")))
def test_no_code_outside_the_spaces_compares_a_space_name(module):
    hits = _literal_hits(module, _space_names())
    assert not hits, "{}:{} {} space name {!r}".format(module, *hits[0])


#: Option values a space declares that are also the engine's own words, each with where the
#: engine owns it: comparing against them outside the spaces means the engine's meaning.
ENGINE_WORDS = {
    "lm": "a calibration batch kind (spaces.base.CalibrationSpec.kind)",
    "all": "an --archs choice (workflows/splits.py)",
}


def _option_literals() -> set[str]:
    """Every named option value (model names, dtypes, ...) a built-in space declares in
    ``option_choices``, except :data:`ENGINE_WORDS`."""
    from lpzero_gp.spaces import REGISTRY, get_space

    out: set[str] = set()
    for name in REGISTRY:
        for choices in get_space(name).option_choices.values():
            out |= {c for c in choices if isinstance(c, str)}
    return out - set(ENGINE_WORDS)


def test_the_spaces_declare_their_option_values():
    """The check below has something to check: the llama space's models and dtypes."""
    assert {"smollm2", "tiny", "fp32", "bf16", "fp16"} <= _option_literals()


@pytest.mark.parametrize("module", sorted(m for m in MODULES
                                          if not m.startswith("lpzero_gp.spaces")))
def test_no_code_outside_the_spaces_compares_a_space_option_value(module):
    """A model name or option value a space declares is the space's business: no code above
    the spaces compares against it or keys a dict by it (options reach a space as data)."""
    hits = _literal_hits(module, _option_literals())
    assert not hits, "{}:{} {} space option {!r}".format(module, *hits[0])


def test_spaces_import_nothing_from_the_engine():
    allowed = {k for k, v in LAYERS.items() if v <= LAYERS["spaces"]}
    for module in MODULES:
        if not module.startswith("lpzero_gp.spaces"):
            continue
        for imported in _imports(module):
            part = _resolve(imported).split(".")
            assert len(part) > 1 and part[1] in allowed, f"{module} imports {imported}"


#: The one module above ``spaces/`` that may name a space's module: the registry's built-in list.
REGISTRY = "lpzero_gp.spaces"


@pytest.mark.parametrize("module", sorted(m for m in MODULES
                                          if not m.startswith("lpzero_gp.spaces")))
def test_no_engine_module_imports_a_space_module(module):
    """Outside ``spaces/`` only ``lpzero_gp.spaces`` (registry), ``.base`` (contract) and
    ``.progress`` (the shared progress bar) are used, never a space's own module."""
    names = _space_names()
    for imported in _imports(module):
        parts = imported.split(".")
        assert not (len(parts) > 2 and parts[1] == "spaces" and parts[2] in names), (
            f"{module} imports the space module {imported}")


def _packages_in_setup_cfg() -> set[str]:
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    return {p.strip() for p in cfg["options"]["packages"].split() if p.strip()}


def test_setup_cfg_lists_every_package_folder():
    """A new subpackage not listed in setup.cfg would be missing from a regular install."""
    folders = {m for m, p in MODULES.items() if p.name == "__init__.py"}
    assert folders == _packages_in_setup_cfg()
