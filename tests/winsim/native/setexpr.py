"""``SET /A``: cmd.exe's 32-bit integer arithmetic (Microsoft Learn: "set (environment variable)").

Operators, by precedence: ``( )``; unary ``! ~ -``; ``* / %``; ``+ -``; ``<< >>``; ``&``; ``^``;
``|``; assignments ``= *= /= %= += -= &= ^= |= <<= >>=``; ``,``. Names are environment
variables (an undefined or non-numeric one is 0); numbers are decimal, ``0x`` hexadecimal or
``0`` octal. Division truncates toward zero; results wrap to 32 bits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, MutableMapping

from .errors import NativeUnsupported

_TOKEN = re.compile(r"\s*(0[xX][0-9a-fA-F]+|\d+|[A-Za-z_$#@.{}\[\]?][\w$#@.{}\[\]?]*|<<=|>>=|<<|>>|[*/%+\-&^|]=|.)")
_BINARY = [
    ("|",),
    ("^",),
    ("&",),
    ("<<", ">>"),
    ("+", "-"),
    ("*", "/", "%"),
]


class DivideByZero(Exception):
    pass


def wrap(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - 0x100000000 if value & 0x80000000 else value


def parse_number(text: str) -> int | None:
    """strtol with base 0, the whole text (sign allowed); None when it is not a number."""
    m = re.fullmatch(r"\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)\s*", text)
    if not m:
        return None
    digits = m.group(2)
    if digits.lower().startswith("0x"):
        value = int(digits, 16)
    elif digits.startswith("0") and len(digits) > 1:
        value = int(digits, 8)
    else:
        value = int(digits)
    return wrap(-value if m.group(1) == "-" else value)


class _Eval:
    def __init__(self, text: str, env: MutableMapping[str, str], where: str) -> None:
        self.tokens = [t for t in _TOKEN.findall(text) if t.strip()]
        self.pos = 0
        self.env = env
        self.where = where

    def peek(self) -> str:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ""

    def take(self) -> str:
        tok = self.peek()
        self.pos += 1
        return tok

    def fail(self, what: str) -> NativeUnsupported:
        return NativeUnsupported("SET /A %s" % what, self.where)

    def var(self, name: str) -> int:
        value = parse_number(self.env.get(name, "0") or "0")
        return 0 if value is None else value

    def comma(self) -> int:
        value = self.assign()
        while self.peek() == ",":
            self.take()
            value = self.assign()
        return value

    def assign(self) -> int:
        tok = self.peek()
        nxt = self.tokens[self.pos + 1] if self.pos + 1 < len(self.tokens) else ""
        if _is_name(tok) and nxt in ("=", "*=", "/=", "%=", "+=", "-=", "&=", "^=", "|=", "<<=", ">>="):
            self.pos += 2
            right = self.assign()
            value = right if nxt == "=" else _apply(nxt[:-1], self.var(tok), right)
            self.env[tok] = str(value)
            return value
        return self.binary(0)

    def binary(self, level: int) -> int:
        if level == len(_BINARY):
            return self.unary()
        value = self.binary(level + 1)
        while self.peek() in _BINARY[level]:
            op = self.take()
            value = _apply(op, value, self.binary(level + 1))
        return value

    def unary(self) -> int:
        tok = self.take()
        if tok == "-":
            return wrap(-self.unary())
        if tok == "+":
            return self.unary()
        if tok == "!":
            return int(self.unary() == 0)
        if tok == "~":
            return wrap(~self.unary())
        if tok == "(":
            value = self.comma()
            if self.take() != ")":
                raise self.fail("with unbalanced parentheses")
            return value
        if not tok:
            raise self.fail("with a missing operand")
        number = parse_number(tok)
        if number is not None:
            return number
        if _is_name(tok):
            return self.var(tok)
        raise self.fail("with the token %r" % tok)


def _is_name(tok: str) -> bool:
    return bool(tok) and not tok[0].isdigit() and bool(re.fullmatch(r"[A-Za-z_$#@.{}\[\]?][\w$#@.{}\[\]?]*", tok))


def _apply(op: str, a: int, b: int) -> int:
    if op in ("/", "%") and b == 0:
        raise DivideByZero()
    ops: dict[str, Callable[[int, int], int]] = {
        "+": lambda x, y: x + y,
        "-": lambda x, y: x - y,
        "*": lambda x, y: x * y,
        "/": lambda x, y: abs(x) // abs(y) * (1 if (x >= 0) == (y >= 0) else -1),
        "%": lambda x, y: abs(x) % abs(y) * (1 if x >= 0 else -1),
        "<<": lambda x, y: x << (y & 31),
        ">>": lambda x, y: x >> (y & 31),
        "&": lambda x, y: x & y,
        "^": lambda x, y: x ^ y,
        "|": lambda x, y: x | y,
    }
    return wrap(ops[op](a, b))


def evaluate(text: str, env: MutableMapping[str, str], where: str) -> int:
    """Evaluate a SET /A expression (assignments change ``env``); returns the last value."""
    text = text.replace('"', "")
    ev = _Eval(text, env, where)
    value = ev.comma()
    if ev.pos != len(ev.tokens):
        raise ev.fail("with trailing text %r" % " ".join(ev.tokens[ev.pos :]))
    return value
