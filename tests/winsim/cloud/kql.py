"""The subset of KQL (Kusto) the fake advanced hunting understands.

Enough for the collection's wave query and for simple hand-written ones:

* source: ``Table`` or ``union [withsource=Column] T1, T2, ...``
* ``where`` with ``and`` / ``or`` / ``not(...)``, comparisons ``== != =~ !~ < <= > >=``,
  ``in`` / ``in~`` / ``!in`` / ``!in~`` lists, ``isempty()`` / ``isnotempty()``, and the
  values ``ago(24h)``, ``now()``, ``datetime(...)``, strings, numbers, ``true`` / ``false``
* ``summarize [Name =] agg(...), ... [by Col, ...]`` with ``count() countif() max() min()
  maxif() minif() sum() sumif() dcount() make_set() make_set_if() take_any() take_anyif()``
* ``project``, ``take`` / ``limit``, ``count``, ``order by`` / ``sort by``

Anything else raises :class:`KqlUnsupported`, which the fake answers with a 400 saying the
local fake does not support it (never a silent wrong answer).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KqlError", "KqlUnsupported", "Query", "parse", "run"]


class KqlError(ValueError):
    """A syntax error (the real service answers 400 too)."""


class KqlUnsupported(KqlError):
    """Valid KQL the fake does not implement."""


_TOKEN = re.compile(
    r"""\s*(?:
    (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<span>\d+(?:\.\d+)?(?:d|h|m|s|ms)\b)
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<op>==|!=|=~|!~|<=|>=|!in~|!in\b|in~|<|>|=)
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<p>[(),|\[\]])
)""",
    re.X,
)

_AGGS = {
    "count",
    "countif",
    "max",
    "min",
    "maxif",
    "minif",
    "sum",
    "sumif",
    "dcount",
    "make_set",
    "make_set_if",
    "take_any",
    "take_anyif",
    "any",
    "avg",
}


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        if text[pos : pos + 2] == "//":  # comment to end of line
            nl = text.find("\n", pos)
            pos = len(text) if nl < 0 else nl + 1
            continue
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise KqlError("Syntax error near %r" % text[pos : pos + 30])
        out.append((m.lastgroup, m.group(m.lastgroup)))
        pos = m.end()
    return out


def _span(raw: str) -> datetime.timedelta:
    m = re.match(r"^(\d+(?:\.\d+)?)(d|h|m|s|ms)$", raw)
    if not m:
        raise KqlError("bad timespan %r" % raw)
    n = float(m.group(1))
    return datetime.timedelta(
        **{"d": {"days": n}, "h": {"hours": n}, "m": {"minutes": n}, "s": {"seconds": n}, "ms": {"milliseconds": n}}[
            m.group(2)
        ]
    )


def _unquote(raw: str) -> str:
    body = raw[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


# --------------------------------------------------------------------------- expressions
Expr = Callable[[dict], Any]


@dataclass
class Agg:
    name: str
    func: str
    args: list[Expr]
    column: str | None = None  # the column of max(col) etc. (for the type)


@dataclass
class Op:
    kind: str
    pred: Expr | None = None
    aggs: list[Agg] = field(default_factory=list)
    by: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    count: int = 0
    desc: bool = True
    hints: dict = field(default_factory=dict)


@dataclass
class Query:
    tables: list[str]
    withsource: str | None
    ops: list[Op]


def _either(a: Expr, b: Expr) -> Expr:
    return lambda r: bool(a(r)) or bool(b(r))


def _both(a: Expr, b: Expr) -> Expr:
    return lambda r: bool(a(r)) and bool(b(r))


class _P:
    def __init__(self, tokens: list[tuple[str, str]], now: datetime.datetime) -> None:
        self.t = tokens
        self.i = 0
        self.now = now
        self.hints: dict = {}

    def peek(self, k: int = 0) -> tuple[str, str] | None:
        j = self.i + k
        return self.t[j] if j < len(self.t) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise KqlError("unexpected end of query")
        self.i += 1
        return tok

    def expect(self, value: str) -> None:
        tok = self.take()
        if tok[1] != value:
            raise KqlError("%r expected, got %r" % (value, tok[1]))

    def at_end(self) -> bool:
        return self.peek() is None

    def word(self, *words: str) -> bool:
        tok = self.peek()
        if tok and tok[0] == "id" and tok[1] in words:
            self.i += 1
            return True
        return False

    # -- predicates
    def pred(self) -> Expr:
        left = self.conj()
        while self.word("or"):
            right = self.conj()
            left = _either(left, right)
        return left

    def conj(self) -> Expr:
        left = self.cmp()
        while self.word("and"):
            right = self.cmp()
            left = _both(left, right)
        return left

    def cmp(self) -> Expr:
        if self.word("not"):
            self.expect("(")
            inner = self.pred()
            self.expect(")")
            return lambda r: not inner(r)
        if self.peek() == ("p", "("):
            self.take()
            inner = self.pred()
            self.expect(")")
            return inner
        left_name = self.peek()[1] if self.peek() and self.peek()[0] == "id" else None
        left = self.value()
        tok = self.peek()
        if tok is None or tok[0] != "op":
            if tok and tok[0] == "id" and tok[1] in ("has", "contains", "startswith", "endswith", "matches"):
                raise KqlUnsupported("the operator '%s'" % tok[1])
            return left
        op = self.take()[1]
        if op in ("in", "in~", "!in", "!in~"):
            self.expect("(")
            items = []
            while True:
                kind, raw = self.take()
                if kind != "str":
                    if kind == "num":
                        items.append(float(raw) if "." in raw else int(raw))
                    else:
                        raise KqlUnsupported("only literal lists after %s" % op)
                else:
                    items.append(_unquote(raw))
                if self.peek() == ("p", ","):
                    self.take()
                    continue
                self.expect(")")
                break
            fold = op.endswith("~")
            wanted = {str(x).lower() for x in items} if fold else set(items)
            neg = op.startswith("!")
            if left_name in ("DeviceName", "DeviceId") and not neg:
                self.hints.setdefault(left_name, set()).update(str(x).lower() for x in items)

            def member(r: dict, left=left, wanted=wanted, fold=fold, neg=neg) -> bool:
                v = left(r)
                hit = (str(v).lower() if fold and v is not None else v) in wanted
                return not hit if neg else hit

            return member
        if op == "=":
            raise KqlError("'=' is not a comparison; use '=='")
        right = self.value()
        if left_name == "Timestamp" and op in (">", ">="):
            probe = right({})
            if isinstance(probe, datetime.datetime):
                self.hints["since"] = min(self.hints.get("since", probe), probe)
        if left_name in ("DeviceName",) and op in ("==", "=~"):
            probe = right({})
            if isinstance(probe, str):
                self.hints.setdefault("DeviceName", set()).add(probe.lower())

        def compare(r: dict, left=left, right=right, op=op) -> bool:
            a, b = left(r), right(r)
            if op in ("=~", "!~"):
                eq = (str(a).lower() if a is not None else None) == (str(b).lower() if b is not None else None)
                return eq if op == "=~" else not eq
            if op == "==":
                return a == b
            if op == "!=":
                return a != b
            if a is None or b is None:
                return False
            try:
                return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
            except TypeError:
                return False

        return compare

    def value(self) -> Expr:
        kind, raw = self.take()
        if kind == "str":
            s = _unquote(raw)
            return lambda r: s
        if kind == "num":
            n = float(raw) if "." in raw else int(raw)
            return lambda r: n
        if kind == "span":
            d = _span(raw)
            return lambda r: d
        if kind != "id":
            raise KqlError("a value expected, got %r" % raw)
        if raw in ("true", "false"):
            b = raw == "true"
            return lambda r: b
        if self.peek() == ("p", "("):
            return self.call(raw)
        return lambda r, c=raw: r.get(c)

    def call(self, name: str) -> Expr:
        self.expect("(")
        if name == "ago":
            kind, raw = self.take()
            if kind != "span":
                raise KqlUnsupported("ago() needs a literal timespan such as 24h")
            self.expect(")")
            when = self.now - _span(raw)
            return lambda r: when
        if name == "now":
            self.expect(")")
            return lambda r: self.now
        if name == "datetime":
            parts = []
            while self.peek() != ("p", ")"):
                parts.append(self.take()[1])
            self.expect(")")
            from .odata import parse_time

            when = parse_time("".join(parts).strip("\"'"))
            if when is None:
                raise KqlError("bad datetime literal")
            return lambda r: when
        if name in ("isempty", "isnotempty", "isnull", "isnotnull"):
            inner = self.value()
            self.expect(")")
            empty = name in ("isempty", "isnull")
            return lambda r: (inner(r) in (None, "")) == empty
        raise KqlUnsupported("the function %s()" % name)

    # -- operators
    def agg(self) -> Agg:
        name = None
        if self.peek() and self.peek()[0] == "id" and self.peek(1) == ("op", "="):
            name = self.take()[1]
            self.take()
        kind, func = self.take()
        if kind != "id" or func not in _AGGS:
            raise KqlUnsupported("the aggregation %r" % func)
        self.expect("(")
        args: list[Expr] = []
        column = None
        if func == "countif":
            args.append(self.pred())
        elif func != "count":
            if self.peek() and self.peek()[0] == "id" and self.peek(1) != ("p", "("):
                column = self.peek()[1]
            args.append(self.value())
            if func.endswith("if"):
                self.expect(",")
                args.append(self.pred())
        self.expect(")")
        default = {"count": "count_", "countif": "countif_", "dcount": "dcount_%s" % column}.get(
            func, "%s_%s" % (func, column)
        )
        return Agg(name or default, func, args, column)

    def op(self) -> Op:
        kind, word = self.take()
        if kind != "id":
            raise KqlError("an operator expected after '|', got %r" % word)
        if word == "where":
            return Op("where", pred=self.pred())
        if word == "summarize":
            aggs = [self.agg()]
            while self.peek() == ("p", ","):
                self.take()
                aggs.append(self.agg())
            by = []
            if self.word("by"):
                by.append(self.take()[1])
                while self.peek() == ("p", ","):
                    self.take()
                    by.append(self.take()[1])
            return Op("summarize", aggs=aggs, by=by)
        if word == "project":
            cols = [self.take()[1]]
            while self.peek() == ("p", ","):
                self.take()
                cols.append(self.take()[1])
            return Op("project", columns=cols)
        if word in ("take", "limit"):
            kind, raw = self.take()
            if kind != "num":
                raise KqlError("%s needs a number" % word)
            return Op("take", count=int(raw))
        if word == "count":
            return Op("count")
        if word in ("order", "sort"):
            if not self.word("by"):
                raise KqlError("%s by expected" % word)
            col = self.take()[1]
            desc = True
            if self.word("asc"):
                desc = False
            else:
                self.word("desc")
            return Op("order", columns=[col], desc=desc)
        raise KqlUnsupported("the operator '%s'" % word)


def parse(text: str, now: datetime.datetime | None = None) -> tuple[Query, dict]:
    """``(query, hints)``; hints (``since``, ``DeviceName``, ``DeviceId``) let the data source
    generate fewer rows - the filters are still applied to every row."""
    now = now or datetime.datetime.now(datetime.UTC)
    segments: list[list[tuple[str, str]]] = [[]]
    depth = 0
    for tok in _tokens(text):
        if tok == ("p", "("):
            depth += 1
        elif tok == ("p", ")"):
            depth -= 1
        if tok == ("p", "|") and depth == 0:
            segments.append([])
        else:
            segments[-1].append(tok)
    if not segments[0]:
        raise KqlError("the query is empty")
    head = _P(segments[0], now)
    withsource = None
    if head.word("union"):
        if head.peek() and head.peek()[1] == "withsource":
            head.take()
            head.expect("=")
            withsource = head.take()[1]
        if head.peek() and head.peek()[1].startswith("kind"):
            raise KqlUnsupported("union kind=")
        tables = [head.take()[1]]
        while head.peek() == ("p", ","):
            head.take()
            tables.append(head.take()[1])
    else:
        kind, name = head.take()
        if kind != "id":
            raise KqlError("a table name expected, got %r" % name)
        if name in ("let", "print", "search", "find", "datatable", "range"):
            raise KqlUnsupported("the statement '%s'" % name)
        tables = [name]
    if not head.at_end():
        raise KqlUnsupported("%r after the table" % head.peek()[1])
    ops = []
    hints: dict = {}
    for seg in segments[1:]:
        p = _P(seg, now)
        ops.append(p.op())
        if not p.at_end():
            raise KqlUnsupported("%r in '%s'" % (p.peek()[1], " ".join(t[1] for t in seg[:3])))
        if ops[-1].kind == "where" and all(o.kind == "where" for o in ops):
            for k, v in p.hints.items():
                if k == "since":
                    hints["since"] = max(hints.get("since", v), v)
                elif k in hints:
                    hints[k] &= v
                else:
                    hints[k] = set(v)
    return Query(tables, withsource, ops), hints


def _aggregate(agg: Agg, rows: list[dict]) -> Any:
    f, a = agg.func, agg.args
    if f == "count":
        return len(rows)
    if f == "countif":
        return sum(1 for r in rows if a[0](r))
    if f.endswith("if") and f != "countif":
        rows = [r for r in rows if a[-1](r)]
        f = f[:-2]
    values = [a[0](r) for r in rows] if a else []
    present = [v for v in values if v is not None and v != ""]
    if f in ("max", "min"):
        return (max if f == "max" else min)(present) if present else None
    if f == "sum":
        return sum(present)
    if f == "avg":
        return sum(present) / len(present) if present else None
    if f == "dcount":
        return len({str(v) for v in present})
    if f in ("make_set", "make_set_"):
        out: list = []
        for v in present:
            if v not in out:
                out.append(v)
        return out
    if f in ("take_any", "any"):
        return present[0] if present else None
    raise KqlUnsupported("the aggregation %s" % agg.func)


def run(query: Query, source: Callable[[str], Iterable[dict]]) -> list[dict]:
    """Evaluate ``query`` over ``source(table)`` rows; returns rows (dicts, column order kept)."""

    def rows() -> Iterable[dict]:
        for table in query.tables:
            for row in source(table):
                if query.withsource:
                    row = dict(row)
                    row[query.withsource] = table
                yield row

    data: Iterable[dict] = rows()
    for op in query.ops:
        if op.kind == "where":
            data = [r for r in data if op.pred(r)]
        elif op.kind == "summarize":
            groups: dict[tuple, list[dict]] = {}
            for r in data:
                groups.setdefault(tuple(r.get(c) for c in op.by), []).append(r)
            if not op.by and not groups:
                groups[()] = []
            out = []
            for key, members in groups.items():
                row = dict(zip(op.by, key, strict=True))
                for agg in op.aggs:
                    row[agg.name] = _aggregate(agg, members)
                out.append(row)
            data = out
        elif op.kind == "project":
            data = [{c: r.get(c) for c in op.columns} for r in data]
        elif op.kind == "take":
            data = list(data)[: op.count]
        elif op.kind == "count":
            data = [{"Count": len(list(data))}]
        elif op.kind == "order":
            col = op.columns[0]
            data = sorted(data, key=lambda r: (r.get(col) is None, r.get(col)), reverse=op.desc)
    return list(data)


def column_types(rows: list[dict]) -> list[dict]:
    """The schema of an answer (names in row order, types from the values)."""
    columns: dict[str, str] = {}
    for row in rows:
        for k, v in row.items():
            if columns.get(k) not in (None, "Object"):
                continue
            if v is None:
                columns.setdefault(k, "Object")
            elif isinstance(v, bool):
                columns[k] = "Boolean"
            elif isinstance(v, int):
                columns[k] = "Int64"
            elif isinstance(v, float):
                columns[k] = "Double"
            elif isinstance(v, datetime.datetime):
                columns[k] = "DateTime"
            elif isinstance(v, (list, dict)):
                columns[k] = "Dynamic"
            else:
                columns[k] = "String"
    return [{"name": k, "type": ("String" if t == "Object" else t)} for k, t in columns.items()]


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value
