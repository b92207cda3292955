"""The compact syntax tree the interpreter runs (built once per script text by ``parser.py``).

Plain classes with ``__slots__``; every node knows its 1-based source ``line``. Statements are
what coverage counts (``Script.statement_lines``). Nothing here evaluates anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class Node:
    __slots__ = ("line",)

    def __init__(self, line: int) -> None:
        self.line = line


# ---------------------------------------------------------------------------- expressions
class Const(Node):
    """A literal: number, verbatim string, or a value folded at parse time."""

    __slots__ = ("value",)

    def __init__(self, line: int, value: Any) -> None:
        super().__init__(line)
        self.value = value


class Var(Node):
    """``$name``, ``$scope:name``, ``${name}``; ``splat`` for ``@name`` in a command."""

    __slots__ = ("name", "scope", "splat")

    def __init__(self, line: int, name: str, scope: str | None = None, splat: bool = False) -> None:
        super().__init__(line)
        self.name = name
        self.scope = scope
        self.splat = splat


class Expand(Node):
    """An expandable string: literal text parts (str) and expressions, concatenated."""

    __slots__ = ("parts",)

    def __init__(self, line: int, parts: list) -> None:
        super().__init__(line)
        self.parts = parts


class HashLit(Node):
    __slots__ = ("entries",)

    def __init__(self, line: int, entries: list[tuple[Node, Node]]) -> None:
        super().__init__(line)
        self.entries = entries


class ArrayLit(Node):
    """``a, b, c`` (the comma operator)."""

    __slots__ = ("items",)

    def __init__(self, line: int, items: list[Node]) -> None:
        super().__init__(line)
        self.items = items


class SubExpr(Node):
    """``$( … )`` (kind ``sub``), ``@( … )`` (kind ``array``) or ``( pipeline )`` (kind ``paren``)."""

    __slots__ = ("body", "kind")

    def __init__(self, line: int, kind: str, body: list) -> None:
        super().__init__(line)
        self.kind = kind
        self.body = body


class Unary(Node):
    """``-not``, ``!``, ``-``, ``+``, ``,`` (unary comma), ``-bnot``, ``-split``, ``-join``."""

    __slots__ = ("op", "operand")

    def __init__(self, line: int, op: str, operand: Node) -> None:
        super().__init__(line)
        self.op = op
        self.operand = operand


class Binary(Node):
    """Every binary operator, lower-cased (``-eq``, ``-ceq``, ``+``, ``-and``, ``-f``, ``..``)."""

    __slots__ = ("left", "op", "right")

    def __init__(self, line: int, op: str, left: Node, right: Node) -> None:
        super().__init__(line)
        self.op = op
        self.left = left
        self.right = right


@dataclass(frozen=True)
class TypeName:
    """A type as written: ``System.Collections.Generic.List[String]``, ``String[]``."""

    name: str
    args: tuple[TypeName, ...] = ()
    array: bool = False

    def __str__(self) -> str:
        text = self.name
        if self.args:
            text += "[%s]" % ", ".join(str(a) for a in self.args)
        return text + ("[]" if self.array else "")


class TypeLit(Node):
    """``[Type]`` as a value."""

    __slots__ = ("type",)

    def __init__(self, line: int, type_: TypeName) -> None:
        super().__init__(line)
        self.type = type_


class Cast(Node):
    __slots__ = ("operand", "type")

    def __init__(self, line: int, type_: TypeName, operand: Node) -> None:
        super().__init__(line)
        self.type = type_
        self.operand = operand


class Member(Node):
    """``obj.name`` / ``[Type]::name``; ``name`` is a str or an expression (``$obj.$name``)."""

    __slots__ = ("name", "static", "target")

    def __init__(self, line: int, target: Node, name: str | Node, static: bool) -> None:
        super().__init__(line)
        self.target = target
        self.name = name
        self.static = static


class Invoke(Node):
    """``obj.Method(args)`` / ``[Type]::Method(args)``."""

    __slots__ = ("args", "name", "static", "target")

    def __init__(self, line: int, target: Node, name: str | Node, args: list[Node], static: bool) -> None:
        super().__init__(line)
        self.target = target
        self.name = name
        self.args = args
        self.static = static


class Index(Node):
    __slots__ = ("index", "target")

    def __init__(self, line: int, target: Node, index: Node) -> None:
        super().__init__(line)
        self.target = target
        self.index = index


class ScriptBlockLit(Node):
    """``{ … }`` as a value."""

    __slots__ = ("block",)

    def __init__(self, line: int, block: ScriptBlock) -> None:
        super().__init__(line)
        self.block = block


class IncDec(Node):
    """``$x++``, ``++$x``, ``$x--``, ``--$x``."""

    __slots__ = ("delta", "prefix", "target")

    def __init__(self, line: int, target: Node, delta: int, prefix: bool) -> None:
        super().__init__(line)
        self.target = target
        self.delta = delta
        self.prefix = prefix


# ---------------------------------------------------------------------------- commands
class Param(Node):
    """``-Name``, ``-Name:value`` or ``-Name value`` in a command (``value`` is None for a bare switch)."""

    __slots__ = ("colon", "name", "value")

    def __init__(self, line: int, name: str, value: Node | None, colon: bool) -> None:
        super().__init__(line)
        self.name = name
        self.value = value
        self.colon = colon


class Redirect(Node):
    """``2>&1`` (``merge``), ``>$null``, ``2>$null``, ``> file``, ``>> file``."""

    __slots__ = ("append", "stream", "target")

    def __init__(self, line: int, stream: str, target: Node | str, append: bool = False) -> None:
        super().__init__(line)
        self.stream = stream
        self.target = target
        self.append = append


class Command(Node):
    """One command of a pipeline: ``name`` is a str (bare word) or an expression after ``&``."""

    __slots__ = ("args", "call_op", "name", "redirects")

    def __init__(self, line: int, name: str | Node, args: list, call_op: str | None, redirects: list[Redirect]) -> None:
        super().__init__(line)
        self.name = name
        self.args = args
        self.call_op = call_op
        self.redirects = redirects


# ---------------------------------------------------------------------------- statements
class Pipeline(Node):
    """``a | b | c``; elements are commands or (the first one only) an expression."""

    __slots__ = ("elements",)

    def __init__(self, line: int, elements: list[Node]) -> None:
        super().__init__(line)
        self.elements = elements


class Assign(Node):
    __slots__ = ("op", "target", "value")

    def __init__(self, line: int, target: Node, op: str, value: Node) -> None:
        super().__init__(line)
        self.target = target
        self.op = op
        self.value = value


class If(Node):
    __slots__ = ("clauses", "orelse")

    def __init__(self, line: int, clauses: list[tuple[Node, list]], orelse: list | None) -> None:
        super().__init__(line)
        self.clauses = clauses
        self.orelse = orelse


class Foreach(Node):
    __slots__ = ("body", "iterable", "label", "var")

    def __init__(self, line: int, var: Var, iterable: Node, body: list, label: str | None = None) -> None:
        super().__init__(line)
        self.var = var
        self.iterable = iterable
        self.body = body
        self.label = label


class While(Node):
    """``while`` (``kind`` while), ``do { } while`` (do_while), ``do { } until`` (do_until)."""

    __slots__ = ("body", "cond", "kind", "label")

    def __init__(self, line: int, kind: str, cond: Node, body: list, label: str | None = None) -> None:
        super().__init__(line)
        self.kind = kind
        self.cond = cond
        self.body = body
        self.label = label


class For(Node):
    __slots__ = ("body", "cond", "init", "label", "step")

    def __init__(self, line: int, init, cond, step, body: list, label: str | None = None) -> None:
        super().__init__(line)
        self.init = init
        self.cond = cond
        self.step = step
        self.body = body
        self.label = label


class Switch(Node):
    """``clauses``: (condition, body); a condition is a value, a script block, or None for default."""

    __slots__ = ("clauses", "flags", "label", "value")

    def __init__(self, line: int, value: Node, clauses: list, flags: frozenset[str], label: str | None = None) -> None:
        super().__init__(line)
        self.value = value
        self.clauses = clauses
        self.flags = flags
        self.label = label


class Catch(Node):
    __slots__ = ("body", "types")

    def __init__(self, line: int, types: list[TypeName], body: list) -> None:
        super().__init__(line)
        self.types = types
        self.body = body


class Try(Node):
    __slots__ = ("body", "catches", "final")

    def __init__(self, line: int, body: list, catches: list[Catch], final: list | None) -> None:
        super().__init__(line)
        self.body = body
        self.catches = catches
        self.final = final


class Flow(Node):
    """``return``/``throw``/``exit`` (``value`` may be None), ``break``/``continue`` (``value``: a label)."""

    __slots__ = ("kind", "value")

    def __init__(self, line: int, kind: str, value: Any = None) -> None:
        super().__init__(line)
        self.kind = kind
        self.value = value


@dataclass
class ParamDecl:
    """One parameter of a ``param()`` block."""

    name: str
    type: TypeName | None
    default: Node | None
    mandatory: bool = False
    position: int | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    line: int = 0


@dataclass
class ScriptBlock:
    """A function body, a script, or a ``{ }`` literal."""

    params: list[ParamDecl] | None
    body: list
    cmdlet_binding: bool = False
    line: int = 0
    file: str = ""


class FunctionDef(Node):
    __slots__ = ("block", "name")

    def __init__(self, line: int, name: str, block: ScriptBlock) -> None:
        super().__init__(line)
        self.name = name
        self.block = block


@dataclass
class Script:
    """A parsed script text: its top-level block and what coverage needs."""

    name: str
    block: ScriptBlock
    statement_lines: frozenset[int]
    functions: dict[str, int]
    requires: list[tuple[str, str]] = field(default_factory=list)
