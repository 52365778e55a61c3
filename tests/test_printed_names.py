"""One printed name per op wherever a user sees a proxy.

``str(tree)`` of a tree of ``make_pset`` (stock or not) is the plain proxy string, the graph
labels are plain, ``gp.compile`` reads the plain string, two trees that print alike score alike,
and the typed string (the search's lossless key) reads back into the very same tree. The
README's and docs/api.md's own-DEAP-loop examples run as written.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
from collections import defaultdict
from contextlib import contextmanager, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from deap import creator, gp
from toy import toy_family

from lpzero_gp.primitives import PRUNED, make_pset
from lpzero_gp.primitives.ops import OPS_BY_NAME
from lpzero_gp.primitives.pset import INPUTS
from lpzero_gp.proxy import graph, parse, to_string, typed_string
from lpzero_gp.proxy.generate import gen_typed
from lpzero_gp.proxy.parse import format_tree, parse_tree
from lpzero_gp.score.evaluate import Evaluator
from lpzero_gp.search import Search, SearchConfig
from lpzero_gp.stats.store import Dataset

ROOT = Path(__file__).resolve().parent.parent
FULL = make_pset()
STOCK = make_pset(stock=True)
#: A typed name as DEAP's keys spell it: an op name with its type suffix.
TYPED = re.compile(r"\b[a-z][a-z0-9_]*_[TPLS]\(")
SEED = 5


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset.from_stats(toy_family(6))


def _trees(n: int = 300) -> list[tuple[gp.PrimitiveSetTyped, gp.PrimitiveTree]]:
    """Trees of the default set (the package's generator) and of the stock set (DEAP's)."""
    random.seed(SEED)
    out = [(FULL, gp.PrimitiveTree(gen_typed(FULL, 1, 6))) for _ in range(n)]
    out += [(STOCK, gp.PrimitiveTree(gp.genHalfAndHalf(STOCK, 2, 6))) for _ in range(n)]
    return out


def _words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z][A-Za-z0-9_]*", text))


def test_str_of_a_tree_is_the_plain_proxy_string():
    plain = set(OPS_BY_NAME) | set(INPUTS)
    for _pset, tree in _trees():
        text = str(tree)
        assert text == format_tree(tree) == to_string(tree)
        assert _words(text) <= plain, text
    assert str(parse("agg_sum(l1(mul(G, W)))")) == "agg_sum(l1(mul(G, W)))"


def test_the_typed_string_reads_back_the_very_same_tree():
    for pset, tree in _trees():
        if pset is FULL:
            assert parse_tree(typed_string(tree), FULL) == tree
    tree = parse("agg_sum(l1(mul(G, W)))")
    assert typed_string(tree) == "agg_sum_L(l1_T(mul_P(G, W)))"
    # the plain string leaves out which overload takes a parameter input; the typed one keeps it
    m = FULL.mapping
    as_tensor = gp.PrimitiveTree([m["agg_mean_L"], m["mean_T"], m["exp_T"], m["G"]])
    assert str(as_tensor) == "agg_mean(mean(exp(G)))" == str(parse(str(as_tensor)))
    assert parse_tree(typed_string(as_tensor), FULL) == as_tensor != parse(str(as_tensor))


def test_graph_labels_are_plain():
    for _pset, tree in _trees(100):
        nodes, edges, labels = graph(tree)
        deap_nodes, deap_edges, _ = gp.graph(tree)
        assert (nodes, edges) == (deap_nodes, deap_edges)
        assert not any(TYPED.search(f"{label}(") for label in labels.values()), labels
    m = STOCK.mapping
    tree = gp.PrimitiveTree([m["agg_sum_L"], m["add_L"], m["mean(A)"], m["fro_T"], m["W"]])
    assert graph(tree)[2] == {0: "agg_sum", 1: "add", 2: "mean(A)", 3: "fro", 4: "W"}


def test_compile_reads_the_plain_string(dataset):
    checked = 0
    for pset, tree in _trees(150):
        compiled = gp.compile(tree, pset)(*[dataset.inputs[a] for a in pset.arguments])
        direct = Evaluator(dataset, memoize=False).score(tree)
        if direct is None:
            assert compiled is PRUNED
            continue
        assert np.allclose(compiled.numpy(), direct.numpy(), equal_nan=True), str(tree)
        checked += 1
    assert checked >= 200


def test_trees_that_print_alike_score_alike(dataset):
    """The printed form hides nothing: equal strings, equal scores (every tree evaluated as
    it is, not through its string)."""
    random.seed(SEED)
    by_text: dict[str, list] = defaultdict(list)
    evaluator = Evaluator(dataset)
    for k in range(1500):
        tree = gp.PrimitiveTree(gp.genHalfAndHalf(STOCK, 2, 2 + k % 3))
        out = evaluator.score(tree)
        by_text[str(tree)].append(None if out is None else out.numpy())
    repeated = [v for v in by_text.values() if len(v) > 1]
    assert len(repeated) >= 20
    for values in repeated:
        first = values[0]
        for other in values[1:]:
            assert (first is None) == (other is None)
            assert first is None or np.allclose(first, other, equal_nan=True)


def test_search_individuals_keep_the_typed_string(dataset):
    """The search keys its caches and checkpoints on its individuals' typed strings; what it
    shows is plain."""
    tree = parse("agg_sum(l1(mul(G, W)))")
    assert str(creator.ProxyTree(tree)) == typed_string(tree)
    truth = np.arange(dataset.n_archs, dtype=float)
    from lpzero_gp.score.scoring import Scorer

    state = Search(FULL, Scorer(dataset, truth), SearchConfig(
        population=10, offspring=10, evaluations=30, seed=SEED)).run()
    for ind in state.hof:
        assert parse_tree(str(ind), FULL) == ind
        assert not TYPED.search(format_tree(ind))
    assert all(not TYPED.search(rec["best_proxy"]) for rec in state.logbook)


@pytest.mark.xdist_group("flexibert-run")  # beside the other readers (conftest)
def test_run_files_print_plain_names(flexibert_run):
    out = flexibert_run
    with open(out / "hall_of_fame.csv", newline="") as f:
        proxies = [row["proxy"] for row in csv.DictReader(f)]
    assert proxies and len(set(proxies)) == len(proxies)
    for proxy in proxies:
        assert not TYPED.search(proxy) and format_tree(parse(proxy)) == proxy
    for name in ("log.csv", "best.json", "summary.json"):
        assert not TYPED.search((out / name).read_text()), name
    best = json.loads((out / "best.json").read_text())["proxy"]
    assert best == json.loads((out / "summary.json").read_text())["proxy"]


def _python_block(path: Path, heading: str) -> str:
    """The first python block after ``heading`` in a Markdown file, dedented."""
    text = path.read_text()
    start = text.index(heading)
    body = re.search(r"```python\n(.*?)\n\s*```", text[start:], re.DOTALL).group(1)
    lines = body.splitlines()
    indent = min(len(x) - len(x.lstrip()) for x in lines if x.strip())
    return "\n".join(x[indent:] for x in lines) + "\n"


@contextmanager
def example_process():
    """Run examples in this process as if in a fresh one, in the block: the DEAP ``creator``
    classes they make, the ops they register and the random state they seed are put back
    afterwards, so the tests that follow see this process as it was."""
    from lpzero_gp.primitives import unregister_op

    made, ops, state = dict(vars(creator)), set(OPS_BY_NAME), random.getstate()
    try:
        yield
    finally:
        for name in set(vars(creator)) - set(made):
            delattr(creator, name)
        for name, value in made.items():
            setattr(creator, name, value)
        for name in set(OPS_BY_NAME) - ops:
            unregister_op(name)
        random.setstate(state)


def _run_as_script(code: str) -> str:
    """Run ``code`` in a namespace of its own, as a script (``__name__`` is ``"__main__"``),
    within :func:`example_process`; what it printed."""
    printed = io.StringIO()
    with example_process(), redirect_stdout(printed):
        exec(compile(code, "<example>", "exec"), {"__name__": "__main__"})
    return printed.getvalue()


@pytest.mark.parametrize(("doc", "heading"), [
    ("README.md", "**Your own DEAP experiment**"),
])  # docs/api.md's example runs, and is checked the same way, in tests/test_api_doc.py
def test_own_deap_loop_examples_run_as_written(doc: str, heading: str, tmp_path, monkeypatch):
    """In an empty folder, in this process (as the end-to-end tests run the commands)."""
    code = _python_block(ROOT / doc, heading)
    monkeypatch.chdir(tmp_path)
    before = vars(creator).get("Individual")
    printed = _run_as_script(code)
    lines = printed.strip().splitlines()
    assert lines and not any(TYPED.search(line) for line in lines), printed
    if doc == "README.md":  # the hall of fame: three different proxies
        assert len(lines) == len({line.split(None, 1)[1] for line in lines}) == 3
        for line in lines:
            rho, proxy = line.split(maxsplit=1)
            assert -1 <= float(rho) <= 1
            parse(proxy)
    assert vars(creator).get("Individual") is before  # the example's classes are gone again
