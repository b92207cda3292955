"""PowerShell operators: comparison (case-insensitive by default, converted to the left operand's
type, filtering when the left operand is a collection), wildcard and regex matching, arithmetic,
``-join``/``-split``/``-replace``, ``-contains``/``-in`` and the ``-f`` format operator.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from . import convert as C
from .errors import PSRuntimeError, PSUnsupported, error
from .values import AUTOMATION_NULL, EnumValue, Hashtable, NetObject, SwitchParameter, is_null


# ---------------------------------------------------------------------------- equality and order
def _coerce(left: Any, right: Any) -> Any:
    """``right`` converted to the type of ``left`` (PowerShell's comparison rule); raises on failure."""
    if isinstance(left, str):
        return C.to_string(right)
    if isinstance(left, bool):
        return C.to_bool(right)
    if isinstance(left, int | float):
        return C.to_number(right)
    if isinstance(left, SwitchParameter):
        return C.to_bool(right)
    if isinstance(left, EnumValue):
        if isinstance(right, EnumValue):
            return right.value
        if isinstance(right, int):
            return right
        if isinstance(right, str):
            raise _CompareByName(right)
        return C.to_number(right)
    return right


class _CompareByName(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def equals(left: Any, right: Any, case: bool = False) -> bool:
    """``left -eq right`` for a scalar ``left``."""
    if is_null(left):
        return is_null(right)
    if is_null(right):
        return False
    try:
        other = _coerce(left, right)
    except PSRuntimeError:
        return False
    except _CompareByName as by_name:
        return left.name.lower() == by_name.name.lower()  # type: ignore[union-attr]
    if isinstance(left, str):
        return left == other if case else left.lower() == other.lower()
    if isinstance(left, SwitchParameter):
        return left.is_present == other
    if isinstance(left, EnumValue):
        return left.value == other
    if isinstance(left, NetObject):
        eq = getattr(left, "ps_equals", None)
        return bool(eq(right)) if eq is not None else left is right
    if isinstance(left, Hashtable | list):
        return left is right
    return bool(left == other)


def order(left: Any, right: Any, case: bool = False) -> int:
    """-1, 0, 1 for ``left`` against ``right`` (``-lt``, ``-gt``…)."""
    if is_null(left):
        return 0 if is_null(right) else -1
    if is_null(right):
        return 1
    try:
        other = _coerce(left, right)
    except _CompareByName:
        raise PSUnsupported("", 0, "ordering an enum against a name") from None
    if isinstance(left, str):
        a, b = (left, other) if case else (left.lower(), other.lower())
    elif isinstance(left, EnumValue):
        a, b = left.value, other
    elif isinstance(left, int | float | bool):
        a, b = left, other
    elif isinstance(left, NetObject) and hasattr(left, "ps_order"):
        return int(left.ps_order(right))
    else:
        raise error(
            'Cannot compare "%s" because it is not IComparable.' % C.to_string(left),
            "NotIcomparable",
            category="InvalidOperation",
        )
    return (a > b) - (a < b)


_COMPARE = {
    "-eq": equals,
    "-ne": lambda a, b, c: not equals(a, b, c),
    "-gt": lambda a, b, c: order(a, b, c) > 0,
    "-ge": lambda a, b, c: order(a, b, c) >= 0,
    "-lt": lambda a, b, c: order(a, b, c) < 0,
    "-le": lambda a, b, c: order(a, b, c) <= 0,
}


# ---------------------------------------------------------------------------- wildcards and regex
@functools.lru_cache(maxsize=2048)
def wildcard(pattern: str, case: bool = False) -> re.Pattern[str]:
    """PowerShell's WildcardPattern: ``*``, ``?``, ``[abc]``, ``[a-z]``, backtick escapes."""
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "`" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise error(
                    "The specified wildcard character pattern is not valid: %s" % pattern,
                    "RuntimeException",
                    category="InvalidArgument",
                )
            body = pattern[i + 1 : end].replace("\\", "\\\\")
            out.append("[%s]" % body)
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out) + r"\Z", re.S | (0 if case else re.I))


def like(value: Any, pattern: Any, case: bool = False) -> bool:
    return wildcard(C.to_string(pattern), case).match(C.to_string(value)) is not None


_NAMED_GROUP = re.compile(r"\(\?<([A-Za-z_][A-Za-z0-9_]*)>")


@functools.lru_cache(maxsize=1024)
def dotnet_regex(pattern: str, case: bool = False) -> re.Pattern[str]:
    """A .NET regular expression as a Python one (named groups translated; the rest is shared syntax)."""
    if "(?<=" in pattern or "(?<!" in pattern:
        translated = pattern
    else:
        translated = _NAMED_GROUP.sub(r"(?P<\1>", pattern)
    if re.search(r"\\[pPkK]|\(\?[imsx-]+:|\\A|\\G|\\Z", translated):
        raise PSUnsupported("", 0, "the regular expression construct in %r" % pattern)
    try:
        return re.compile(translated, 0 if case else re.I)
    except re.error as exc:
        raise error(
            "Invalid regular expression pattern: %s. %s" % (pattern, exc),
            "InvalidRegularExpression",
            category="InvalidOperation",
        ) from None


def match_table(m: re.Match[str]) -> Hashtable:
    """``$Matches`` after a successful ``-match``: group numbers and names to text."""
    table = Hashtable()
    table[0] = m.group(0)
    names = {v: k for k, v in m.re.groupindex.items()}
    for index in range(1, (m.re.groups or 0) + 1):
        if m.group(index) is not None:
            table[names.get(index, index)] = m.group(index)
    return table


def replacement(text: str) -> str:
    """A .NET replacement string (``$1``, ``${name}``, ``$$``) as a Python one."""
    out = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "$" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            m = re.match(r"\d+", text[i + 1 :])
            if m:
                out.append("\\g<%s>" % m.group(0))
                i += 1 + len(m.group(0))
                continue
            m = re.match(r"\{(\w+)\}", text[i + 1 :])
            if m:
                out.append("\\g<%s>" % m.group(1))
                i += 1 + len(m.group(0))
                continue
        out.append("\\\\" if ch == "\\" else ch)
        i += 1
    return "".join(out)


# ---------------------------------------------------------------------------- binary operators
def binary(op: str, left: Any, right: Any, ctx: Any = None) -> Any:
    """Every non-short-circuit binary operator (the compiler handles ``-and``/``-or``)."""
    if op in _ARITH:
        return _ARITH[op](left, right)
    case = False
    base = op
    if op.startswith("-c") and op[2:] and ("-" + op[2:]) in _CASED:
        case, base = True, "-" + op[2:]
    if base in _COMPARE:
        test = _COMPARE[base]
        if isinstance(left, list):
            return [x for x in left if test(x, right, case)]
        return test(left, right, case)
    if base in ("-like", "-notlike"):
        want = base == "-like"
        if isinstance(left, list):
            return [x for x in left if like(x, right, case) == want]
        return like(left, right, case) == want
    if base in ("-match", "-notmatch"):
        want = base == "-match"
        rx = dotnet_regex(C.to_string(right), case)
        if isinstance(left, list):
            return [x for x in left if (rx.search(C.to_string(x)) is not None) == want]
        m = rx.search(C.to_string(left))
        if m is not None and ctx is not None:
            ctx.set_matches(match_table(m))
        return (m is not None) == want
    if base in ("-contains", "-notcontains"):
        items = left if isinstance(left, list) else [left]
        found = any(equals(x, right, case) for x in items)
        return found == (base == "-contains")
    if base in ("-in", "-notin"):
        items = right if isinstance(right, list) else [right]
        found = any(equals(x, left, case) for x in items)
        return found == (base == "-in")
    if base == "-replace":
        return _replace(left, right, case)
    if base == "-split":
        return _split(left, right, case)
    if op == "-join":
        items = left if isinstance(left, list) else [left]
        return C.to_string(right).join(C.to_string(x) for x in items)
    if op == "-f":
        args = right if isinstance(right, list) else [right]
        return format_string(C.to_string(left), args)
    if op == "..":
        a, b = C.to_integer(left), C.to_integer(right)
        return list(range(a, b + 1) if a <= b else range(a, b - 1, -1))
    if op in ("-band", "-bor", "-bxor"):
        a, b = C.to_integer(left, C.INT64), C.to_integer(right, C.INT64)
        return {"-band": a & b, "-bor": a | b, "-bxor": a ^ b}[op]
    if op == "-xor":
        return C.to_bool(left) != C.to_bool(right)
    raise PSUnsupported("", 0, "operator %s" % op)


_CASED = {
    "-eq",
    "-ne",
    "-gt",
    "-ge",
    "-lt",
    "-le",
    "-like",
    "-notlike",
    "-match",
    "-notmatch",
    "-contains",
    "-notcontains",
    "-in",
    "-notin",
    "-replace",
    "-split",
}


def _replace(left: Any, right: Any, case: bool) -> Any:
    args = right if isinstance(right, list) else [right]
    if len(args) > 2:
        raise PSUnsupported("", 0, "-replace with %d operands" % len(args))
    rx = dotnet_regex(C.to_string(args[0]), case)
    repl = replacement(C.to_string(args[1])) if len(args) > 1 else ""
    if isinstance(left, list):
        return [rx.sub(repl, C.to_string(x)) for x in left]
    return rx.sub(repl, C.to_string(left))


def _split(left: Any, right: Any, case: bool) -> list:
    args = right if isinstance(right, list) else [right]
    if len(args) != 1:
        raise PSUnsupported("", 0, "-split with a count or options")
    rx = dotnet_regex(C.to_string(args[0]), case)
    items = left if isinstance(left, list) else [left]
    out: list = []
    for item in items:
        out.extend(rx.split(C.to_string(item)) if rx.groups == 0 else _split_keep(rx, C.to_string(item)))
    return out


def _split_keep(rx: re.Pattern[str], text: str) -> list:
    return [p for p in rx.split(text) if p is not None]


def _add(left: Any, right: Any) -> Any:
    if is_null(left):
        if isinstance(right, list):
            return list(right)
        return None if right is AUTOMATION_NULL else right
    if isinstance(left, list):
        extra = right if isinstance(right, list) else ([] if right is AUTOMATION_NULL else [right])
        return list(left) + list(extra)
    if isinstance(left, Hashtable):
        if not isinstance(right, Hashtable):
            raise error(
                "A hash table can only be added to another hash table.",
                "AddHashTableToNonHashTable",
                category="InvalidOperation",
            )
        merged = left.copy()
        for key, value in right.items():
            if key in merged:
                raise error(
                    "Item has already been added. Key in dictionary: '%s'  Key being added: '%s'" % (key, key),
                    "DuplicateKeyInHashLiteral",
                    exc_type="System.ArgumentException",
                    category="InvalidOperation",
                )
            merged[key] = value
        return merged
    if isinstance(left, str):
        return left + C.to_string(right)
    if isinstance(left, NetObject) and hasattr(left, "ps_add"):
        return left.ps_add(right)
    return _numeric("+", left, right)


def _numeric(op: str, left: Any, right: Any) -> Any:
    if isinstance(left, NetObject) or isinstance(right, NetObject):
        handler = getattr(left, "ps_" + {"-": "sub", "+": "add"}.get(op, "x"), None)
        if handler is not None:
            return handler(right)
        raise PSUnsupported("", 0, "operator %s on %s" % (op, C.type_name_of(left)))
    a = C.to_number(left)
    b = C.to_number(right)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        raise error(
            "Attempted to divide by zero.",
            "RuntimeException",
            exc_type="System.Management.Automation.RuntimeException",
            category="NotSpecified",
        )
    if op == "/":
        if isinstance(a, int) and isinstance(b, int) and a % b == 0:
            return a // b
        return a / b
    if op == "%":
        if isinstance(a, int) and isinstance(b, int):
            result = abs(a) % abs(b)
            return -result if a < 0 else result
        import math

        return math.fmod(a, b)
    raise PSUnsupported("", 0, "operator %s" % op)


def _mul(left: Any, right: Any) -> Any:
    if isinstance(left, str):
        return left * C.to_integer(right)
    if isinstance(left, list):
        return list(left) * C.to_integer(right)
    return _numeric("*", left, right)


_ARITH = {
    "+": _add,
    "-": lambda a, b: _numeric("-", a, b),
    "*": _mul,
    "/": lambda a, b: _numeric("/", a, b),
    "%": lambda a, b: _numeric("%", a, b),
}


# ---------------------------------------------------------------------------- -f
_FORMAT_ITEM = re.compile(r"\{\{|\}\}|\{(\d+)(?:,(-?\d+))?(?::([^}]*))?\}|[{}]")


def format_string(fmt: str, args: list) -> str:
    """.NET composite formatting (String.Format) with the formats the collection uses."""

    def item(m: re.Match[str]) -> str:
        text = m.group(0)
        if text == "{{":
            return "{"
        if text == "}}":
            return "}"
        if m.group(1) is None:
            raise error(
                "Error formatting a string: Input string was not in a correct format..",
                "FormatError",
                exc_type="System.FormatException",
                category="InvalidOperation",
            )
        index = int(m.group(1))
        if index >= len(args):
            raise error(
                "Error formatting a string: Index (zero based) must be greater than or equal to zero and less than "
                "the size of the argument list..",
                "FormatError",
                exc_type="System.FormatException",
                category="InvalidOperation",
            )
        value = format_value(args[index], m.group(3))
        width = int(m.group(2)) if m.group(2) else 0
        return value.ljust(-width) if width < 0 else value.rjust(width)

    return _FORMAT_ITEM.sub(item, fmt)


def format_value(value: Any, spec: str | None) -> str:
    if not spec:
        return C.net_string(value)
    if isinstance(value, NetObject) and hasattr(value, "ps_format"):
        return str(value.ps_format(spec))
    if isinstance(value, int) and not isinstance(value, bool):
        kind, digits = spec[0].upper(), spec[1:]
        if kind == "D" and digits.isdigit() | (digits == ""):
            return str(value).zfill(int(digits or 0)) if value >= 0 else "-" + str(-value).zfill(int(digits or 0))
        if kind == "X" and (digits.isdigit() or digits == ""):
            text = format(value, "X" if spec[0] == "X" else "x")
            return text.zfill(int(digits or 0))
        if kind == "N" and (digits.isdigit() or digits == ""):
            return format(value, ",.%df" % int(digits or 2))
    if isinstance(value, int | float) and not isinstance(value, bool):
        kind, digits = spec[0].upper(), spec[1:]
        if kind == "F" and (digits.isdigit() or digits == ""):
            return format(float(value), ".%df" % int(digits or 2))
        if kind == "N" and (digits.isdigit() or digits == ""):
            return format(float(value), ",.%df" % int(digits or 2))
    raise PSUnsupported("", 0, "format specifier {:%s} for a %s" % (spec, C.type_name_of(value)))
