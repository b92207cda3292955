"""Member access and method calls on PowerShell values (``$x.Name``, ``$x.Method()``, ``[T]::M()``).

Rules modelled: ``$null.Name`` is ``$null`` and ``$null.M()`` fails; a hashtable's keys come before
its properties; a missing key or PSCustomObject property is ``$null``; ``.Count``/``.Length`` exist on
every value (1 for a scalar, 0 for ``$null``); member enumeration over arrays; exceptions of .NET
methods are wrapped in MethodInvocationException. A .NET member the model does not define raises
``PSUnsupported``.
"""

from __future__ import annotations

from typing import Any

from . import convert as C
from .errors import NetException, PSRuntimeError, PSUnsupported, error
from .types import PSType
from .values import AUTOMATION_NULL, EnumValue, Hashtable, NetList, NetObject, PSCustomObject, SwitchParameter, is_null


class RuntimeType(NetObject):
    """What ``GetType()`` returns."""

    TYPE_NAMES = ("System.RuntimeType", "System.Type", "System.Object")

    def __init__(self, full_name: str) -> None:
        self.full_name = full_name

    def p_fullname(self) -> str:
        return self.full_name

    def p_name(self) -> str:
        return self.full_name.rsplit(".", 1)[-1]

    def ps_to_string(self) -> str:
        return self.full_name


def _cmp_kind(value: Any) -> bool:
    """True when a StringComparison argument asks to ignore case."""
    if isinstance(value, EnumValue):
        return value.name.endswith("IgnoreCase")
    raise PSUnsupported("", 0, "a StringComparison given as %s" % C.type_name_of(value))


def _trim_chars(args: tuple) -> str | None:
    if not args:
        return None
    chars = "".join(C.to_string(a) for a in (args[0] if isinstance(args[0], list) else args))
    return chars


_STRING_METHODS: dict[str, Any] = {
    "trim": lambda s, *a: s.strip(_trim_chars(a)),
    "trimend": lambda s, *a: s.rstrip(_trim_chars(a)),
    "trimstart": lambda s, *a: s.lstrip(_trim_chars(a)),
    "tolower": lambda s: s.lower(),
    "tolowerinvariant": lambda s: s.lower(),
    "toupper": lambda s: s.upper(),
    "toupperinvariant": lambda s: s.upper(),
    "tostring": lambda s: s,
    "replace": lambda s, a, b: s.replace(C.to_string(a), C.to_string(b)) if C.to_string(a) else _empty_replace(),
    "contains": lambda s, a: C.to_string(a) in s,
    "startswith": lambda s, a, *c: (
        s.lower().startswith(C.to_string(a).lower()) if c and _cmp_kind(c[0]) else s.startswith(C.to_string(a))
    ),
    "endswith": lambda s, a, *c: (
        s.lower().endswith(C.to_string(a).lower()) if c and _cmp_kind(c[0]) else s.endswith(C.to_string(a))
    ),
    "substring": lambda s, start, *n: _substring(s, C.to_integer(start), C.to_integer(n[0]) if n else None),
    "indexof": lambda s, a: s.find(C.to_string(a)),
    "lastindexof": lambda s, a: s.rfind(C.to_string(a)),
    "split": lambda s, *a: _string_split(s, a),
    "padleft": lambda s, n, *c: s.rjust(C.to_integer(n), C.to_string(c[0]) if c else " "),
    "padright": lambda s, n, *c: s.ljust(C.to_integer(n), C.to_string(c[0]) if c else " "),
    "equals": lambda s, a, *c: (s.lower() == C.to_string(a).lower()) if c and _cmp_kind(c[0]) else s == a,
    "gettype": lambda s: RuntimeType("System.String"),
}


def _empty_replace() -> Any:
    raise error("String cannot be of zero length.\r\nParameter name: oldValue", exc_type="System.ArgumentException")


def _substring(s: str, start: int, length: int | None) -> str:
    if start < 0 or start > len(s) or (length is not None and (length < 0 or start + length > len(s))):
        raise error(
            "Index and length must refer to a location within the string.\r\nParameter name: length",
            "ArgumentOutOfRangeException",
            exc_type="System.ArgumentOutOfRangeException",
        )
    return s[start:] if length is None else s[start : start + length]


def _string_split(s: str, args: tuple) -> list:
    if len(args) != 1:
        raise PSUnsupported("", 0, "String.Split with options")
    seps = args[0]
    chars = "".join(C.to_string(x) for x in seps) if isinstance(seps, list) else C.to_string(seps)
    out, cur = [], []
    for ch in s:
        if ch in chars:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


# ---------------------------------------------------------------------------- properties
def get_member(value: Any, name: str) -> Any:
    """``value.name`` (``name`` as written; looked up ignoring case)."""
    low = name.lower()
    if value is None or value is AUTOMATION_NULL:
        return 0 if low in ("count", "length") else None
    if isinstance(value, Hashtable):
        entry = value.get_entry(name)
        if entry is not None:
            return entry[1]
        if low == "count":
            return len(value)
        if low == "keys":
            return list(value.keys())
        if low == "values":
            return list(value.values())
        return None
    if isinstance(value, PSCustomObject):
        return value.props[name]
    if isinstance(value, list):
        if low in ("count", "length"):
            return len(value)
        return _enumerate_member(value, name)
    if isinstance(value, str):
        if low == "length":
            return len(value)
        if low == "count":
            return 1
        raise PSUnsupported("", 0, "property %s of a string" % name)
    if isinstance(value, NetObject):
        getter = getattr(value, "p_" + low, None)
        if getter is not None:
            try:
                return getter()
            except KeyError:
                pass
        if low == "count":
            return 1
        raise PSUnsupported("", 0, "property %s of [%s]" % (name, value.TYPE_NAMES[0]))
    if isinstance(value, SwitchParameter) and low == "ispresent":
        return value.is_present
    if isinstance(value, EnumValue) and low == "value__":
        return value.value
    if low == "count":
        return 1
    if low == "length" and not isinstance(value, str):
        return 1
    raise PSUnsupported("", 0, "property %s of [%s]" % (name, C.type_name_of(value)))


def _enumerate_member(items: list, name: str) -> Any:
    """Member enumeration: ``@($a, $b).Name`` collects each item's ``Name``."""
    out: list = []
    for item in items:
        if is_null(item):
            continue
        v = get_member(item, name)
        if isinstance(v, list):
            out.extend(v)
        elif v is not AUTOMATION_NULL:
            out.append(v)
    if not out:
        return None
    return out[0] if len(out) == 1 else out


def set_member(value: Any, name: str, new: Any) -> None:
    if value is None or value is AUTOMATION_NULL:
        raise error(
            "The property '%s' cannot be found on this object. Verify that the property exists and can be set." % name,
            "PropertyNotFound",
            category="InvalidOperation",
        )
    if new is AUTOMATION_NULL:
        new = None
    if isinstance(value, Hashtable):
        value[name] = new
        return
    if isinstance(value, PSCustomObject):
        if name not in value.props:
            raise error(
                "The property '%s' cannot be found on this object. Verify that the property exists and can be set."
                % name,
                "PropertyNotFound",
                category="InvalidOperation",
            )
        value.props[name] = new
        return
    if isinstance(value, NetObject):
        setter = getattr(value, "set_" + name.lower(), None)
        if setter is None:
            raise PSUnsupported("", 0, "setting property %s of [%s]" % (name, value.TYPE_NAMES[0]))
        setter(new)
        return
    raise PSUnsupported("", 0, "setting property %s of [%s]" % (name, C.type_name_of(value)))


# ---------------------------------------------------------------------------- methods
def invoke_method(ctx: Any, value: Any, name: str, args: list) -> Any:
    """``value.name(args)``: .NET exceptions become MethodInvocationException, as in PowerShell."""
    if value is None or value is AUTOMATION_NULL:
        raise error(
            "You cannot call a method on a null-valued expression.", "InvokeMethodOnNull", category="InvalidOperation"
        )
    try:
        return _invoke(ctx, value, name.lower(), name, args)
    except PSRuntimeError as exc:
        raise _wrap_method_error(exc, name, args) from None


def _wrap_method_error(exc: PSRuntimeError, name: str, args: list) -> PSRuntimeError:
    inner = exc.record.exception
    if (
        getattr(exc, "from_script", False)
        or "System.Management.Automation.MethodInvocationException" in inner.TYPE_NAMES
    ):
        return exc
    message = 'Exception calling "%s" with "%d" argument(s): "%s"' % (name, len(args), inner.message)
    wrapped = error(
        message,
        inner.TYPE_NAMES[0].rsplit(".", 1)[-1],
        exc_type="System.Management.Automation.MethodInvocationException",
        inner=inner,
    )
    return wrapped


def _invoke(ctx: Any, value: Any, low: str, name: str, args: list) -> Any:
    if isinstance(value, NetObject):
        method = getattr(value, "m_" + low, None)
        if method is not None:
            return method(ctx, *args)
        if low == "gettype" and not args:
            return RuntimeType(value.TYPE_NAMES[0])
        if low == "tostring" and not args:
            return value.ps_to_string()
        raise PSUnsupported("", 0, "method %s() of [%s]" % (name, value.TYPE_NAMES[0]))
    if isinstance(value, str):
        method = _STRING_METHODS.get(low)
        if method is None:
            raise PSUnsupported("", 0, "method %s() of a string" % name)
        return method(value, *args)
    if isinstance(value, Hashtable):
        return _hashtable_method(value, low, name, args)
    if isinstance(value, list):
        return _list_method(ctx, value, low, name, args)
    if low == "tostring":
        if not args:
            return C.net_string(value)
        from .ops import format_value

        return format_value(value, C.to_string(args[0]))
    if low == "gettype" and not args:
        return RuntimeType(C.type_name_of(value))
    if low == "equals" and len(args) == 1:
        from .ops import equals

        return equals(value, args[0])
    if isinstance(value, EnumValue) and low == "hasflag":
        flag = args[0]
        bits = flag.value if isinstance(flag, EnumValue) else C.to_integer(flag)
        return value.value & bits == bits
    raise PSUnsupported("", 0, "method %s() of [%s]" % (name, C.type_name_of(value)))


def _hashtable_method(table: Hashtable, low: str, name: str, args: list) -> Any:
    if low in ("containskey", "contains") and len(args) == 1:
        return args[0] in table
    if low == "containsvalue" and len(args) == 1:
        from .ops import equals

        return any(equals(v, args[0]) for v in table.values())
    if low == "add" and len(args) == 2:
        if args[0] in table:
            raise error(
                "Item has already been added. Key in dictionary: '%s'  Key being added: '%s'" % (args[0], args[0]),
                "ArgumentException",
                exc_type="System.ArgumentException",
            )
        table[args[0]] = None if args[1] is AUTOMATION_NULL else args[1]
        return AUTOMATION_NULL
    if low == "remove" and len(args) == 1:
        existed = args[0] in table
        del table[args[0]]
        return existed if table.case_sensitive else AUTOMATION_NULL
    if low == "clone" and not args:
        return table.copy()
    if low == "clear" and not args:
        for key in list(table):
            del table[key]
        return AUTOMATION_NULL
    if low == "tostring" and not args:
        return C.net_string(table)
    raise PSUnsupported("", 0, "method %s() of a hashtable" % name)


def _list_method(ctx: Any, items: list, low: str, name: str, args: list) -> Any:
    growable = isinstance(items, NetList)
    if low == "contains" and len(args) == 1:
        from .ops import equals

        return any(equals(x, args[0], case=True) for x in items)
    if low == "indexof" and len(args) == 1:
        from .ops import equals

        return next((i for i, x in enumerate(items) if equals(x, args[0], case=True)), -1)
    if growable and low == "add" and len(args) == 1:
        items.append(None if args[0] is AUTOMATION_NULL else args[0])
        return AUTOMATION_NULL
    if growable and low == "addrange" and len(args) == 1:
        items.extend(C.to_list(args[0]))
        return AUTOMATION_NULL
    if growable and low == "remove" and len(args) == 1:
        from .ops import equals

        for i, x in enumerate(items):
            if equals(x, args[0], case=True):
                del items[i]
                return True
        return False
    if growable and low == "toarray" and not args:
        return list(items)
    if growable and low == "clear" and not args:
        items.clear()
        return AUTOMATION_NULL
    if low in ("add", "remove", "clear"):
        raise error(
            'Exception calling "%s" with "%d" argument(s): "Collection was of a fixed size."' % (name, len(args)),
            "NotSupportedException",
            exc_type="System.Management.Automation.MethodInvocationException",
        )
    if low == "tostring" and not args:
        return C.net_string(items)
    # Method enumeration: call it on every item.
    out: list = []
    for item in items:
        result = invoke_method(ctx, item, name, args)
        if result is not AUTOMATION_NULL:
            out.append(result)
    return out[0] if len(out) == 1 else out


# ---------------------------------------------------------------------------- statics
def get_static(ctx: Any, t: PSType, name: str) -> Any:
    getter = t.static_props.get(name.lower())
    if getter is None:
        raise PSUnsupported("", 0, "static property [%s]::%s" % (t.full_name, name))
    return getter(ctx)


def invoke_static(ctx: Any, t: PSType, name: str, args: list) -> Any:
    low = name.lower()
    try:
        if low == "new" and t.new is not None:
            return t.new(ctx, *args)
        method = t.static_methods.get(low)
        if method is None:
            raise PSUnsupported("", 0, "static method [%s]::%s()" % (t.full_name, name))
        return method(ctx, *args)
    except PSRuntimeError as exc:
        raise _wrap_method_error(exc, name, args) from None
    except TypeError as exc:
        raise PSUnsupported("", 0, "[%s]::%s() with %d arguments (%s)" % (t.full_name, name, len(args), exc)) from None


def exception_types(exc: NetException) -> tuple[str, ...]:
    """The types a ``catch [T]`` compares with: the exception's and, for a method call, the inner one's."""
    names = exc.TYPE_NAMES
    if "System.Management.Automation.MethodInvocationException" in names and exc.inner is not None:
        names = names + exc.inner.TYPE_NAMES
    return names
