"""Our own parser and printer for proxy strings: ``agg_mean(mean(square(neg(H))))``.

User text never reaches ``eval``: the string is tokenised, parsed by recursive descent, and every
name is checked against the op table and the input names; overloads are resolved from the
argument types (a ParamList argument also fits a TensorList slot).

The printer writes every node (:func:`format_tree`, the same text as ``str(tree)`` of a tree of
``make_pset``): plain op names, and a stock-set terminal as the proxy it stands for
(``agg_mean(mean(A))``), so two trees that score differently never print alike.
:func:`typed_string` writes DEAP's typed names instead, the lossless form that reads back into
the very same tree; :func:`graph` is ``gp.graph`` with plain labels. The parser still reads the
empty terminals of earlier stock sets (``pruned_L``, ``pruned_S``) and drops them as evaluation
would: an empty operand of a binary op leaves the other operand, any other op of an empty value
is empty, and a proxy with nothing left reads as :data:`EMPTY_PROXY`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from difflib import SequenceMatcher, get_close_matches

from deap import gp

from lpzero_gp.errors import ProxyError
from lpzero_gp.primitives.ops import ALIASES
from lpzero_gp.primitives.pset import (
    ALL_OVERLOADS,
    EMPTY_TERMINALS,
    INPUTS,
    TYPE_NAMES,
    Overload,
    input_type,
)
from lpzero_gp.primitives.types import Layerwise, Score, TensorList
from lpzero_gp.proxy.fold import fold

MAX_CHARS = 4000
MAX_NODES = 400
MAX_DEPTH = 60

#: The string of an empty proxy (every branch pruned).
EMPTY_PROXY = f"agg_mean(prune(mean({INPUTS[0]})))"

_TOKEN = re.compile(r"\s*(?:([A-Za-z][A-Za-z0-9_]*)|(\()|(\))|(,))")
#: Text made of tokens and whitespace only, and one token (a name is matched whole, as above;
#: the possessive ``*+`` never splits a name, so a failing match cannot backtrack into one).
_ALL_TOKENS = re.compile(r"(?:\s*+(?:[A-Za-z][A-Za-z0-9_]*+|[(),]))*+")
_ONE_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_]*|[(),]")
#: A bare word as named proxies are spelled (``flexibert-best``): a name, hyphens allowed.
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


def _key(name: str) -> str:
    return name.lower().replace("-", "_")


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the candidates closest to ``word`` (case and ``-``/``_``
    ignored; the closest, and up to two more nearly as close), or ``""`` when none is close."""
    by_key: dict[str, str] = {}
    for name in candidates:
        by_key.setdefault(_key(name), name)
    close = get_close_matches(_key(word), list(by_key), n=3, cutoff=0.6)
    if not close:
        return ""
    ratio = [SequenceMatcher(None, _key(word), c).ratio() for c in close]
    shown = [repr(by_key[c]) for c, r in zip(close, ratio, strict=True) if r >= ratio[0] - 0.1]
    return "; did you mean " + (shown[0] if len(shown) == 1 else
                                f"{', '.join(shown[:-1])} or {shown[-1]}") + "?"


def op_names() -> set[str]:
    """Every name an operation may be written with in a proxy string: ops and aliases."""
    return {ov.op.name for ov in ALL_OVERLOADS.values()} | set(ALIASES)


def unknown_op(name: str) -> str:
    """The one-line error of an unknown operation, with the closest op names and aliases."""
    return f"unknown operation {name!r}" + did_you_mean(name, sorted(op_names()))


def unknown_input(name: str, inputs: Iterable[str], whole: bool = False,
                  others: Iterable[str] = (), what: str = "a named proxy") -> str:
    """The one-line error of an unknown input, with the closest inputs; ``whole``: the whole
    proxy is this one word, so ``what`` (a named proxy, a feature) was likely meant and the
    closest of ``others`` (their names, given by the layer that knows them) are suggested too."""
    inputs = list(inputs)
    if not whole:
        return f"unknown input {name!r}; inputs are {', '.join(inputs)}" + did_you_mean(
            name, inputs)
    return (f"unknown input {name!r} (nor {what}); inputs are {', '.join(inputs)}"
            + did_you_mean(name, [*inputs, *others]))


def _unknown_word(word: str, pset: gp.PrimitiveSetTyped) -> ProxyError:
    """The error of a proxy that is one unknown word; its ``unknown_word`` attribute holds the
    word, so a caller that knows more names (named proxies, a space's features) can suggest
    them too (:func:`lpzero_gp.proxy.named.unknown_word`)."""
    exc = ProxyError(unknown_input(word, pset.arguments, whole=True))
    exc.unknown_word = word
    return exc


def _tokens(text: str) -> list[str]:
    """The names and ``(``, ``)``, ``,`` of ``text``; ProxyError at the first other character.

    Text that is all tokens and whitespace (nearly every call) is split by one regex scan;
    other text takes the token-by-token loop, which names the offending position.
    """
    text = text.strip()
    if _ALL_TOKENS.fullmatch(text):
        return _ONE_TOKEN.findall(text)
    return _scan(text)


def _scan(text: str) -> list[str]:
    """:func:`_tokens` of stripped ``text`` token by token: the error names the position."""
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            bad = text[pos:].lstrip()[:20]
            raise ProxyError(f"unexpected character(s) {bad!r} at position {pos}")
        out.append(next(g for g in m.groups() if g is not None))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _ast(tokens: list[str]):
    """Recursive-descent parse into (name, [children]) tuples."""
    pos = 0

    def node(depth: int):
        nonlocal pos
        if depth > MAX_DEPTH:
            raise ProxyError(f"proxy nested deeper than {MAX_DEPTH}")
        if pos >= len(tokens):
            raise ProxyError("unexpected end of proxy (unbalanced parentheses?)")
        name = tokens[pos]
        if not (name[0].isalpha()):
            raise ProxyError(f"expected a name, got {name!r}")
        pos += 1
        if pos < len(tokens) and tokens[pos] == "(":
            pos += 1
            kids = [node(depth + 1)]
            while pos < len(tokens) and tokens[pos] == ",":
                pos += 1
                kids.append(node(depth + 1))
            if pos >= len(tokens) or tokens[pos] != ")":
                raise ProxyError("missing ')' (unbalanced parentheses)")
            pos += 1
            return (name, kids)
        return (name, [])

    tree = node(0)
    if pos != len(tokens):
        raise ProxyError(f"unexpected {tokens[pos]!r} after the end of the proxy")
    return tree


def _drop_empty(node):
    """The AST without the empty terminals of earlier stock sets, as evaluation drops them
    (None: empty)."""
    name, kids = node
    if not kids:
        return None if name in EMPTY_TERMINALS else node
    kept = [_drop_empty(k) for k in kids]
    if None not in kept:
        return (name, kept)
    rest = [k for k in kept if k is not None]
    return rest[0] if len(kids) == 2 and rest else None


def _fits(arg: type, want: type) -> bool:
    return issubclass(arg, want)


def resolve_overload(name: str, kid_types: list[type]) -> Overload:
    """The overload of op ``name`` (plain, alias or typed name) for arguments of these types."""
    if name in ALL_OVERLOADS:
        ov = ALL_OVERLOADS[name]
        if len(ov.args) == len(kid_types) and all(map(_fits, kid_types, ov.args)):
            return ov
    base = ALIASES.get(name, name)
    cands = [ov for ov in ALL_OVERLOADS.values() if ov.op.name == base]
    if not cands:
        raise ProxyError(unknown_op(name))
    for ov in sorted(cands, key=lambda o: o.args[0] is TensorList):  # prefer exact ParamList
        if len(ov.args) == len(kid_types) and all(map(_fits, kid_types, ov.args)):
            return ov
    got = ", ".join(TYPE_NAMES[t] for t in kid_types)
    want = "; ".join("(" + ", ".join(TYPE_NAMES[a] for a in ov.args) + ")" for ov in cands)
    raise ProxyError(f"{base}({got}) is not defined; {base} takes {want}")


def parse_tree(text: str, pset: gp.PrimitiveSetTyped) -> gp.PrimitiveTree:
    """Parse a proxy string into a typed DEAP tree of ``pset`` (root type Score)."""
    if not isinstance(text, str) or not text.strip():
        raise ProxyError("empty proxy string")
    if len(text) > MAX_CHARS:
        raise ProxyError(f"proxy string longer than {MAX_CHARS} characters")
    word = text.strip()
    if "-" in word and WORD.fullmatch(word):  # a misspelt named proxy, not an expression
        raise _unknown_word(word, pset)
    ast = _drop_empty(_ast(_tokens(text))) or _ast(_tokens(EMPTY_PROXY))
    args = {a: i for i, a in enumerate(pset.arguments)}
    nodes: list = []

    def build(node) -> type:
        name, kids = node
        if not kids:
            if name in args:
                nodes.append(pset.mapping[name])
                return input_type(name)
            if name in ALL_OVERLOADS or ALIASES.get(name, name) in {
                    o.op.name for o in ALL_OVERLOADS.values()}:
                raise ProxyError(f"operation {name!r} needs arguments")
            if node is ast:
                raise _unknown_word(name, pset)
            raise ProxyError(unknown_input(name, pset.arguments))
        slot = len(nodes)
        nodes.append(None)
        kid_types = [build(k) for k in kids]
        ov = resolve_overload(name, kid_types)
        if ov.typed_name not in pset.mapping:
            raise ProxyError(f"operation {ov.op.name!r} is not in this primitive set")
        nodes[slot] = pset.mapping[ov.typed_name]
        if len(nodes) > MAX_NODES:
            raise ProxyError(f"proxy has more than {MAX_NODES} nodes")
        return ov.ret

    root = build(ast)
    if root is not Score:
        hint = " (wrap it in agg_mean(...) or agg_sum(...))" if root is Layerwise else ""
        raise ProxyError(f"a proxy must return one score per architecture{hint}")
    return gp.PrimitiveTree(nodes)


def plain_name(node) -> str:
    """The op name without its type suffix (terminals: the input name, or the proxy a stock
    terminal stands for)."""
    if isinstance(node, gp.Primitive):
        ov = ALL_OVERLOADS.get(node.name)
        return ov.op.name if ov else node.name
    return node.format()


def format_tree(tree: gp.PrimitiveTree, begin: int = 0) -> str:
    """Readable string of the subtree starting at ``begin`` (the whole tree by default), with
    plain op names; every node shows, so trees that score differently print differently."""
    def visit(_i: int, node, args: list[str]) -> str:
        name = plain_name(node)
        return f"{name}({', '.join(args)})" if args else name

    return fold(tree, visit, begin)


def typed_string(tree: gp.PrimitiveTree) -> str:
    """DEAP's string of a tree of ``make_pset()`` with the typed names (``agg_mean_L(mean_T(A))``):
    the overload choice the plain string leaves out (``exp_T(G)`` and ``exp_P(G)`` score alike
    but are different trees), so it parses back into the very same tree. For a set of other
    primitives it is DEAP's own ``str(tree)``."""
    key = tuple(map(id, tree))
    hit = _TYPED_STRINGS.get(key)
    if hit is not None:
        return hit[1]

    def visit(_i: int, node, args: list[str]) -> str:
        return f"{node.name}({', '.join(args)})" if args else node.format()

    text = fold(tree, visit)
    if len(_TYPED_STRINGS) >= _TYPED_STRINGS_SIZE:
        _TYPED_STRINGS.clear()
    _TYPED_STRINGS[key] = (tuple(tree), text)
    return text


#: :func:`typed_string` answers by the identities of a tree's nodes (a search prints the same
#: trees over and over). DEAP never changes a node, so the string is a function of them; each
#: entry holds its nodes, so no other object can take one of their ids while it is stored.
_TYPED_STRINGS: dict[tuple[int, ...], tuple[tuple, str]] = {}
_TYPED_STRINGS_SIZE = 8192


def graph(tree: gp.PrimitiveTree) -> tuple[list[int], list[tuple[int, int]], dict[int, str]]:
    """``deap.gp.graph`` of a tree with plain labels: (nodes, edges, labels), each label the op
    name (``mean``, not ``mean_T``), the input, or the proxy a stock terminal stands for."""
    nodes, edges, _ = gp.graph(tree)
    return nodes, edges, {i: plain_name(tree[i]) for i in nodes}

__all__ = [
    "EMPTY_PROXY", "MAX_CHARS", "MAX_DEPTH", "MAX_NODES", "WORD", "did_you_mean", "format_tree",
    "graph", "parse_tree", "plain_name", "resolve_overload", "typed_string", "unknown_input",
    "unknown_op",
]
