"""Why a constructor call that no form names cannot be a hyperparameter, said for the places
a user most often puts one: after ``+=``, in arithmetic, with a stray trailing comma, as a
``for`` loop's iterable; elsewhere the general message."""

from __future__ import annotations

import ast

_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
              ast.Mod: "%", ast.Pow: "**", ast.MatMult: "@", ast.LShift: "<<",
              ast.RShift: ">>", ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&"}


def unnamed_message(ctor: str, call: ast.Call, parent: ast.AST | None, root: ast.AST) -> str:
    """The message for ``call`` (a ``ctor(...)`` under ``parent``, in the cell ``root``) that
    no assignment, keyword or ``name=`` names."""
    try:
        return _specific(ctor, call, parent, _parents(root)) or _general(ctor)
    except (RecursionError, MemoryError):  # an expression too deep to write back out
        return _general(ctor)


def _general(ctor: str) -> str:
    return (f"cannot tell which hyperparameter this {ctor}(...) is: assign it to one variable "
            f"(x = {ctor}(...)), pass it as a keyword argument (f(x={ctor}(...))) or give it a "
            f"name ({ctor}(..., name='x'))")


def _specific(ctor: str, call: ast.Call, parent: ast.AST | None,
              above: dict[int, ast.AST]) -> str | None:
    """What the line does with ``call`` where it is one of the usual places, else None."""
    if isinstance(parent, ast.AugAssign) and parent.value is call:
        target = ast.unparse(parent.target)
        op = _OPERATORS.get(type(parent.op), "+")
        return (f"`{target} {op}= {ctor}(...)` changes {target} by a value, so the {ctor}(...) "
                f"has no variable of its own: assign it to one first (delta = {ctor}(...), "
                f"then {target} {op}= delta) or give it a name ({ctor}(..., name='delta'))")
    if isinstance(parent, ast.Tuple) and len(parent.elts) == 1:
        target = _assigned_to(parent, above)
        if target is not None:
            return (f"the comma after {ctor}(...) makes {target} a tuple of one element, "
                    f"({ctor}(...),): remove the comma ({target} = {ctor}(...))")
    if isinstance(parent, ast.For) and parent.iter is call:
        return (f"a for loop cannot run over {ctor}(...), a search space: assign the "
                f"hyperparameter to a variable of its own (x = {ctor}(...)) and loop over what "
                f"you need (range(x) for an Int)")
    around = _around(call, above)
    if around is not None:
        return around.format(ctor=ctor)
    outer: ast.AST = call
    while isinstance(above.get(id(outer)), (ast.BinOp, ast.UnaryOp)):
        outer = above[id(outer)]
    if outer is call:
        return None
    target = _assigned_to(outer, above)
    own = "x" if target != "x" else "x0"  # the variable of its own
    log = (f"; a log scale is written {ctor}(lo, hi, log=True), with the bounds themselves, "
           f"not their exponents" if isinstance(parent, ast.BinOp)
           and isinstance(parent.op, ast.Pow) and parent.right is call else "")
    whose = f"of {target}'s value" if target else "of an expression"
    example = f"then {target} = {ast.unparse(outer).replace(ast.unparse(call), own)}" \
        if target else f"then use {own} in the expression"
    return (f"{ctor}(...) is part {whose}, so no variable holds the hyperparameter itself: "
            f"assign it to a variable of its own first ({own} = {ctor}(...), {example}) or give "
            f"it a name ({ctor}(..., name='{own}')){log}")


#: what a constructor inside these expressions would mean, and what to write instead
_AROUND = {
    ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension", ast.GeneratorExp: "a generator expression",
}
_REPEATED = ("{ctor}(...) inside {what} would be one hyperparameter for every item, but a "
             "hyperparameter has one value per trial: assign it to a variable before it (x = "
             "{ctor}(...)) and use x there, or write one per item (x0 = {ctor}(...), x1 = "
             "{ctor}(...), ...)")
_LAMBDA = ("{ctor}(...) in a lambda's body has no variable of its own: assign it to one before "
           "the lambda (x = {ctor}(...)) and use x there, or make it the lambda's default "
           "(lambda x={ctor}(...): ...), which names it x")
_FSTRING = ("{ctor}(...) inside an f-string has no variable of its own: assign it to one first "
            "(x = {ctor}(...)) and write {{x}} in the f-string")


def _around(call: ast.Call, above: dict[int, ast.AST]) -> str | None:
    """The message (with ``{ctor}`` to fill in) for ``call`` inside a comprehension, a
    lambda's body or an f-string, from the nearest of those around it within its statement;
    else None."""
    node: ast.AST = call
    while not isinstance(above.get(id(node)), (ast.stmt, type(None))):
        child, node = node, above[id(node)]
        if type(node) in _AROUND:
            return _REPEATED.replace("{what}", _AROUND[type(node)])
        if isinstance(node, ast.Lambda) and node.body is child:
            return _LAMBDA
        if isinstance(node, ast.JoinedStr):
            return _FSTRING
    return None


def _parents(root: ast.AST) -> dict[int, ast.AST]:
    """Each node's parent in ``root``, by the node's id."""
    return {id(child): node for node in ast.walk(root) for child in ast.iter_child_nodes(node)}


def _assigned_to(value: ast.AST, above: dict[int, ast.AST]) -> str | None:
    """The one variable that ``value`` is assigned to (``x = value``, ``x: T = value``), or
    None."""
    stmt = above.get(id(value))
    if isinstance(stmt, ast.Assign) and stmt.value is value and len(stmt.targets) == 1 \
            and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id
    if isinstance(stmt, ast.AnnAssign) and stmt.value is value \
            and isinstance(stmt.target, ast.Name):
        return stmt.target.id
    return None
