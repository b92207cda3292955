"""OData ``$filter`` for the fake APIs: the forms the Defender API pages document.

Comparisons ``eq ne gt ge lt le`` joined by ``and`` / ``or`` / ``not`` with parentheses,
``startswith`` / ``endswith`` / ``contains``, literals ``'text'`` (quotes doubled),
numbers, ``true`` / ``false`` / ``null`` and unquoted dates (``2026-01-31`` or
``2026-01-31T12:00:00Z``). Properties are checked against the entity's documented filter
list: filtering on anything else answers 400 like the real API.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

__all__ = ["ODataError", "compile_filter", "parse_time"]


class ODataError(ValueError):
    pass


_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<dt>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:\d{2})?)"
    r"|(?P<num>-?\d+(?:\.\d+)?)|(?P<id>[A-Za-z_][A-Za-z0-9_/.]*)|(?P<p>[(),]))"
)
_OPS = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCS = {"startswith", "endswith", "contains"}


def parse_time(value: Any) -> datetime.datetime | None:
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        return None
    text = value.replace("Z", "+00:00")
    m = re.match(r"^(.*T\d{2}:\d{2}:\d{2})\.(\d+)(.*)$", text)
    if m:  # Python wants at most 6 fractional digits
        text = "%s.%s%s" % (m.group(1), m.group(2)[:6], m.group(3))
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ODataError("Invalid filter clause: unexpected text at position %d: %r" % (pos, text[pos : pos + 20]))
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _literal(kind: str, raw: str) -> Any:
    if kind == "str":
        return raw[1:-1].replace("''", "'")
    if kind == "dt":
        return parse_time(raw if ("T" in raw or len(raw) > 10) else raw + "T00:00:00Z")
    if kind == "num":
        return float(raw) if "." in raw else int(raw)
    low = raw.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "null":
        return None
    raise ODataError("Invalid filter clause: %r is not a literal" % raw)


def _get(entity: dict, prop: str) -> Any:
    for k, v in entity.items():
        if k.lower() == prop.lower():
            return v
    return None


def _compare(left: Any, op: str, right: Any) -> bool:
    lt = parse_time(left) if isinstance(right, datetime.datetime) else None
    if isinstance(right, datetime.datetime):
        if lt is None:
            return False
        left = lt
    elif isinstance(right, str) and isinstance(left, str):
        left, right = left.lower(), right.lower()
    elif isinstance(left, list):  # machineTags eq 'x'
        hit = any(str(x).lower() == str(right).lower() for x in left)
        return hit if op == "eq" else not hit if op == "ne" else False
    if op == "eq":
        return left == right
    if op == "ne":
        return left != right
    if left is None or right is None:
        return False
    try:
        return {"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[op]
    except TypeError:
        return False


def _either(a: Callable[[dict], bool], b: Callable[[dict], bool]) -> Callable[[dict], bool]:
    return lambda e: a(e) or b(e)


def _both(a: Callable[[dict], bool], b: Callable[[dict], bool]) -> Callable[[dict], bool]:
    return lambda e: a(e) and b(e)


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], allowed: set[str] | None) -> None:
        self.t = tokens
        self.i = 0
        self.allowed = {a.lower() for a in allowed} if allowed is not None else None

    def peek(self) -> tuple[str, str] | None:
        return self.t[self.i] if self.i < len(self.t) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise ODataError("Invalid filter clause: unexpected end")
        self.i += 1
        return tok

    def word(self, *words: str) -> bool:
        tok = self.peek()
        if tok and tok[0] == "id" and tok[1].lower() in words:
            self.i += 1
            return True
        return False

    def prop(self, name: str) -> str:
        if self.allowed is not None and name.lower() not in self.allowed:
            raise ODataError("Invalid filter clause: the property '%s' is not supported in $filter" % name)
        return name

    def expr(self) -> Callable[[dict], bool]:
        left = self.conj()
        while self.word("or"):
            right = self.conj()
            left = _either(left, right)
        return left

    def conj(self) -> Callable[[dict], bool]:
        left = self.unary()
        while self.word("and"):
            right = self.unary()
            left = _both(left, right)
        return left

    def unary(self) -> Callable[[dict], bool]:
        if self.word("not"):
            inner = self.unary()
            return lambda e: not inner(e)
        tok = self.peek()
        if tok == ("p", "("):
            self.take()
            inner = self.expr()
            if self.take() != ("p", ")"):
                raise ODataError("Invalid filter clause: ')' expected")
            return inner
        kind, raw = self.take()
        if kind != "id":
            raise ODataError("Invalid filter clause: a property or function expected, got %r" % raw)
        if raw.lower() in _FUNCS and self.peek() == ("p", "("):
            self.take()
            prop = self.prop(self.take()[1])
            if self.take() != ("p", ","):
                raise ODataError("Invalid filter clause: ',' expected in %s()" % raw)
            value = _literal(*self.take())
            if self.take() != ("p", ")"):
                raise ODataError("Invalid filter clause: ')' expected after %s()" % raw)
            func = raw.lower()
            needle = str(value).lower()

            def test(e: dict) -> bool:
                hay = str(_get(e, prop) or "").lower()
                return {"startswith": hay.startswith, "endswith": hay.endswith}.get(func, lambda n: n in hay)(needle)

            return test
        prop = self.prop(raw)
        op_kind, op = self.take()
        if op_kind != "id" or op.lower() not in _OPS:
            raise ODataError("Invalid filter clause: operator expected after %s, got %r" % (prop, op))
        value = _literal(*self.take())
        op = op.lower()
        return lambda e: _compare(_get(e, prop), op, value)


def compile_filter(text: str | None, allowed: set[str] | None = None) -> Callable[[dict], bool]:
    if text is None or not text.strip():
        return lambda e: True
    parser = _Parser(_tokens(text), allowed)
    pred = parser.expr()
    if parser.peek() is not None:
        raise ODataError("Invalid filter clause: unexpected %r" % parser.peek()[1])
    return pred
