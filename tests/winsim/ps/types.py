"""The .NET types a script can name (``[int]``, ``[Guid]::NewGuid()``, ``-is [DateTime]``).

A ``PSType`` knows how to test a value (``-is``), convert one (casts, typed parameters, ``-as``),
its static members and its constructor. ``resolve()`` finds a type by any of the names
PowerShell accepts (case-insensitive, ``System.`` optional, the accelerators ``int``, ``string``,
``hashtable``…); a type that is not registered raises ``PSUnsupported``. The model's own types
(registry, processes, CIM…) register themselves from their modules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import convert as C
from .errors import NetException, PSUnsupported, error
from .values import (
    AUTOMATION_NULL,
    EnumValue,
    Hashtable,
    NetList,
    NetObject,
    PSCustomObject,
    ScriptBlockValue,
    SwitchParameter,
    is_null,
)

Converter = Callable[[Any, Any], Any]


class PSType:
    """One .NET type as the interpreter knows it."""

    def __init__(
        self,
        full_name: str,
        *,
        aliases: tuple[str, ...] = (),
        check: Callable[[Any], bool] | None = None,
        convert: Converter | None = None,
        static_props: dict[str, Callable[[Any], Any]] | None = None,
        static_methods: dict[str, Callable[..., Any]] | None = None,
        new: Callable[..., Any] | None = None,
        enum: dict[str, int] | None = None,
    ) -> None:
        self.full_name = full_name
        self.aliases = aliases
        self._check = check
        self._convert = convert
        self.static_props = {k.lower(): v for k, v in (static_props or {}).items()}
        self.static_methods = {k.lower(): v for k, v in (static_methods or {}).items()}
        self.new = new
        self.enum = enum
        if enum is not None:
            self._enum_by_name = {k.lower(): (k, v) for k, v in enum.items()}
            for name in enum:
                self.static_props[name.lower()] = lambda ctx, n=name: self.enum_value(n)

    def __repr__(self) -> str:
        return "[%s]" % self.full_name

    def is_instance(self, value: Any) -> bool:
        if is_null(value):
            return False
        if self._check is not None:
            return self._check(value)
        if self.enum is not None:
            return isinstance(value, EnumValue) and value.type_name == self.full_name
        if isinstance(value, NetObject):
            return self.full_name in value.TYPE_NAMES
        return False

    def convert(self, ctx: Any, value: Any) -> Any:
        if self.enum is not None:
            return self.enum_convert(value)
        if self._convert is not None:
            return self._convert(ctx, value)
        if is_null(value) or self.is_instance(value):
            return None if value is AUTOMATION_NULL else value
        raise C.cast_error(value, self.full_name)

    # ------------------------------------------------------------------ enums
    def enum_value(self, name: str) -> EnumValue:
        real, number = self._enum_by_name[name.lower()]
        return EnumValue(self.full_name, real, number)

    def enum_convert(self, value: Any) -> EnumValue:
        if isinstance(value, EnumValue) and value.type_name == self.full_name:
            return value
        if isinstance(value, str) and value.strip().lower() in self._enum_by_name:
            return self.enum_value(value.strip())
        if isinstance(value, int) and not isinstance(value, bool):
            for name, number in self.enum.items():  # type: ignore[union-attr]
                if number == value:
                    return EnumValue(self.full_name, name, number)
        names = ", ".join('"%s"' % n for n in self.enum)  # type: ignore[union-attr]
        raise error(
            'Cannot convert value "%s" to type "%s". Error: "Unable to match the identifier name %s to a valid '
            'enumerator name. Specify one of the following enumerator names and try again:\r\n%s"'
            % (C.to_string(value), self.full_name, C.to_string(value), names.replace('"', "")),
            "InvalidCastFromStringToEnum",  # noqa: RUF100
            exc_type="System.Management.Automation.PSInvalidCastException",
            category="InvalidArgument",
        )


class ArrayType(PSType):
    """``T[]``: each element converted to T."""

    def __init__(self, element: PSType) -> None:
        super().__init__(element.full_name + "[]")
        self.element = element

    def is_instance(self, value: Any) -> bool:
        if not isinstance(value, list) or isinstance(value, NetList):
            return False
        return self.element.full_name == "System.Object" or all(self.element.is_instance(v) for v in value)

    def convert(self, ctx: Any, value: Any) -> Any:
        if value is None:
            return None
        items = C.to_list(value) if not isinstance(value, Hashtable) else [value]
        return [self.element.convert(ctx, v) for v in items]


class ListType(PSType):
    """``System.Collections.Generic.List[T]``."""

    def __init__(self, element: PSType) -> None:
        super().__init__("System.Collections.Generic.List`1[%s]" % element.full_name)
        self.element = element
        self.new = self._new

    def _new(self, ctx: Any, *args: Any) -> NetList:
        items: list = []
        if args:
            if len(args) != 1 or isinstance(args[0], int):
                raise PSUnsupported("", 0, "List[T] constructor with a capacity")
            items = [self.element.convert(ctx, v) for v in C.to_list(args[0])]
        return NetList(items, self.element.full_name)

    def is_instance(self, value: Any) -> bool:
        return isinstance(value, NetList) and value.element_type == self.element.full_name

    def convert(self, ctx: Any, value: Any) -> Any:
        if self.is_instance(value) or value is None:
            return value
        return self._new(ctx, value)


_REGISTRY: dict[str, PSType] = {}


def register(t: PSType) -> PSType:
    names = {t.full_name.lower(), *(a.lower() for a in t.aliases)}
    if t.full_name.lower().startswith("system."):
        names.add(t.full_name.lower()[len("system.") :])
    for name in names:
        _REGISTRY[name] = t
    return t


def lookup(name: str) -> PSType | None:
    key = name.lower()
    return _REGISTRY.get(key) or _REGISTRY.get("system." + key)


def resolve(type_name: Any, file: str = "", line: int = 0) -> PSType:
    """The PSType of an ``ast.TypeName`` (raises PSUnsupported when it is not modelled)."""
    if type_name.args:
        if type_name.name.lower() in ("system.collections.generic.list", "collections.generic.list"):
            if len(type_name.args) != 1:
                raise PSUnsupported(file, line, "type %s" % type_name)
            base: PSType = ListType(resolve(type_name.args[0], file, line))
        else:
            raise PSUnsupported(file, line, "generic type %s" % type_name)
    else:
        found = lookup(type_name.name)
        if found is None:
            raise PSUnsupported(file, line, "type [%s]" % type_name.name)
        base = found
    return ArrayType(base) if type_name.array else base


# ---------------------------------------------------------------------------- core types
def _conv_string(ctx: Any, value: Any) -> str:
    return C.to_string(value)


def _conv_bool(ctx: Any, value: Any) -> bool:
    return C.to_bool(value)


def _conv_int32(ctx: Any, value: Any) -> int:
    return C.to_integer(value)


def _conv_int64(ctx: Any, value: Any) -> int:
    return C.to_integer(value, C.INT64, "System.Int64")


def _conv_double(ctx: Any, value: Any) -> float:
    return C.to_double(value)


def _conv_object(ctx: Any, value: Any) -> Any:
    return None if value is AUTOMATION_NULL else value


def _conv_array(ctx: Any, value: Any) -> Any:
    return None if value is None else C.to_list(value)


def _conv_hashtable(ctx: Any, value: Any) -> Any:
    if is_null(value):
        return None
    if isinstance(value, Hashtable):
        if not value.case_sensitive and not value.ordered:
            return value
        # new Hashtable(IDictionary): the keys keep the source's comparison.
        return Hashtable(value.items(), case_sensitive=value.case_sensitive)
    raise C.cast_error(value, "System.Collections.Hashtable")


def _conv_pscustomobject(ctx: Any, value: Any) -> Any:
    if isinstance(value, Hashtable):
        return PSCustomObject(value.items())
    if isinstance(value, PSCustomObject):
        return value
    raise PSUnsupported("", 0, "[PSCustomObject] of a %s" % C.type_name_of(value))


def _conv_switch(ctx: Any, value: Any) -> SwitchParameter:
    if isinstance(value, SwitchParameter):
        return value
    return SwitchParameter(C.to_bool(value))


def _conv_void(ctx: Any, value: Any) -> Any:
    return AUTOMATION_NULL


def _int_check(bounds: tuple[int, int]) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and bounds[0] <= v <= bounds[1]


def _exception_new(type_name: str) -> Callable[..., Any]:
    def new(ctx: Any, *args: Any) -> NetException:
        message = C.to_string(args[0]) if args else "Exception of type '%s' was thrown." % type_name
        inner = args[1] if len(args) > 1 and isinstance(args[1], NetException) else None
        return NetException(type_name, message, inner)

    return new


STRING = register(
    PSType(
        "System.String",
        aliases=("string",),
        check=lambda v: isinstance(v, str),
        convert=_conv_string,
        static_props={"Empty": lambda ctx: ""},
        static_methods={
            "IsNullOrEmpty": lambda ctx, v: is_null(v) or v == "",
            "IsNullOrWhiteSpace": lambda ctx, v: is_null(v) or C.to_string(v).strip() == "",
            "Join": lambda ctx, sep, items: C.to_string(sep).join(C.to_string(i) for i in C.to_list(items)),
            "Equals": lambda ctx, a, b: (
                (None if is_null(a) else C.to_string(a)) == (None if is_null(b) else C.to_string(b))
            ),
        },
    )
)
register(PSType("System.Boolean", aliases=("bool",), check=lambda v: isinstance(v, bool), convert=_conv_bool))
register(
    PSType(
        "System.Int32",
        aliases=("int",),
        check=_int_check(C.INT32),
        convert=_conv_int32,
        static_props={"MaxValue": lambda ctx: C.INT32[1], "MinValue": lambda ctx: C.INT32[0]},
    )
)
register(PSType("System.Int64", aliases=("long",), check=_int_check(C.INT64), convert=_conv_int64))
register(PSType("System.Double", aliases=("double",), check=lambda v: isinstance(v, float), convert=_conv_double))
OBJECT = register(PSType("System.Object", aliases=("object", "psobject"), check=lambda v: True, convert=_conv_object))
register(
    PSType(
        "System.Array",
        aliases=("array",),
        check=lambda v: isinstance(v, list) and not isinstance(v, NetList),
        convert=_conv_array,
    )
)
register(
    PSType(
        "System.Collections.Hashtable",
        aliases=("hashtable",),
        check=lambda v: isinstance(v, Hashtable) and not v.case_sensitive and not v.ordered,
        convert=_conv_hashtable,
    )
)
register(PSType("System.Collections.IDictionary", check=lambda v: isinstance(v, Hashtable)))
register(PSType("System.Collections.IList", check=lambda v: isinstance(v, list)))
register(
    PSType(
        "System.Management.Automation.PSCustomObject",
        aliases=("pscustomobject",),
        check=lambda v: isinstance(v, PSCustomObject),
        convert=_conv_pscustomobject,
    )
)
register(
    PSType(
        "System.Management.Automation.SwitchParameter",
        aliases=("switch",),
        check=lambda v: isinstance(v, SwitchParameter),
        convert=_conv_switch,
    )
)
register(PSType("System.Void", aliases=("void",), convert=_conv_void))
register(
    PSType(
        "System.Management.Automation.ScriptBlock",
        aliases=("scriptblock",),
        check=lambda v: isinstance(v, ScriptBlockValue),
    )
)
register(PSType("System.Management.Automation.ErrorRecord"))
for _name in (
    "System.Exception",
    "System.ArgumentException",
    "System.InvalidOperationException",
    "System.IO.IOException",
    "System.IO.FileNotFoundException",
    "System.UnauthorizedAccessException",
    "System.Management.Automation.RuntimeException",
    "System.Management.Automation.ItemNotFoundException",
    "System.Management.Automation.ParameterBindingException",
    "System.Management.Automation.CommandNotFoundException",
    "System.Management.Automation.MethodInvocationException",
    "System.Management.Automation.RemoteException",
    "Microsoft.Management.Infrastructure.CimException",
    "System.ComponentModel.Win32Exception",
):
    register(PSType(_name, new=_exception_new(_name)))
