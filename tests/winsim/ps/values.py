"""PowerShell values in Python.

=====================================  =======================================================
PowerShell / .NET                      Python
=====================================  =======================================================
``$null``                              ``None``
AutomationNull (a command's "nothing")  ``AUTOMATION_NULL`` (a ``$null`` that enumerates to nothing)
Boolean, Int32/Int64, Double, String   ``bool``, ``int``, ``float``, ``str``
``Object[]`` (an array)                ``list``
``List[T]``, ``ArrayList``             ``NetList`` (a ``list`` with ``Add``)
``@{}`` Hashtable, ``[ordered]@{}``    ``Hashtable`` (keys compared ignoring case)
``Dictionary[string, object]``         ``Hashtable(case_sensitive=True)``
``[PSCustomObject]``                   ``PSCustomObject``
everything else (.NET objects)         subclasses of ``NetObject`` (``objects.py`` and the model)
=====================================  =======================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any


class _AutomationNull:
    """``[System.Management.Automation.Internal.AutomationNull]::Value``: what a command with no output returns."""

    _instance: _AutomationNull | None = None

    def __new__(cls) -> _AutomationNull:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "AutomationNull"


AUTOMATION_NULL = _AutomationNull()


def is_null(value: Any) -> bool:
    return value is None or value is AUTOMATION_NULL


class NetObject:
    """A .NET object of the model. Members are looked up by lower-cased name.

    Subclasses define ``TYPE_NAMES`` (most derived first, used by ``-is``, ``catch [T]`` and
    ``GetType()``), read-only properties as ``p_<name>(self)``, writable ones with
    ``set_<name>(self, value)``, and methods as ``m_<name>(self, ctx, *args)``. A member that
    is not defined is not modelled: the interpreter raises ``PSUnsupported``.
    """

    TYPE_NAMES: tuple[str, ...] = ("System.Object",)

    def ps_to_string(self) -> str:
        """``.ToString()`` of the object (and what ``"$obj"`` shows)."""
        return self.TYPE_NAMES[0]


class Hashtable:
    """A Hashtable (keys ignore case), an OrderedDictionary, or a case-sensitive Dictionary.

    Insertion order is kept for all three: a real Hashtable's order is its hash order, which no
    code may rely on.
    """

    __slots__ = ("_data", "case_sensitive", "ordered", "type_name")

    def __init__(
        self,
        items: Iterable[tuple[Any, Any]] | None = None,
        *,
        case_sensitive: bool = False,
        ordered: bool = False,
        type_name: str | None = None,
    ) -> None:
        self._data: dict[Any, tuple[Any, Any]] = {}
        self.case_sensitive = case_sensitive
        self.ordered = ordered
        self.type_name = type_name or (
            "System.Collections.Specialized.OrderedDictionary"
            if ordered
            else "System.Collections.Generic.Dictionary`2[System.String,System.Object]"
            if case_sensitive
            else "System.Collections.Hashtable"
        )
        if items is not None:
            for key, value in items:
                self[key] = value

    def _fold(self, key: Any) -> Any:
        if isinstance(key, str) and not self.case_sensitive:
            return key.lower()
        return key

    def __getitem__(self, key: Any) -> Any:
        entry = self._data.get(self._fold(key))
        return None if entry is None else entry[1]

    def __setitem__(self, key: Any, value: Any) -> None:
        folded = self._fold(key)
        entry = self._data.get(folded)
        self._data[folded] = (key if entry is None else entry[0], value)

    def __delitem__(self, key: Any) -> None:
        self._data.pop(self._fold(key), None)

    def __contains__(self, key: Any) -> bool:
        return self._fold(key) in self._data

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[Any]:
        return (k for k, _value in self._data.values())

    def get_entry(self, key: Any) -> tuple[Any, Any] | None:
        return self._data.get(self._fold(key))

    def keys(self) -> list[Any]:
        return [k for k, _value in self._data.values()]

    def values(self) -> list[Any]:
        return [v for _key, v in self._data.values()]

    def items(self) -> list[tuple[Any, Any]]:
        return list(self._data.values())

    def copy(self) -> Hashtable:
        return Hashtable(
            self.items(), case_sensitive=self.case_sensitive, ordered=self.ordered, type_name=self.type_name
        )

    def __repr__(self) -> str:
        return "Hashtable(%r)" % dict(self.items())


class PSCustomObject:
    """``[PSCustomObject]@{…}`` and what ``ConvertFrom-Json`` returns: ordered properties, names ignore case."""

    __slots__ = ("props",)

    def __init__(self, items: Iterable[tuple[str, Any]] = ()) -> None:
        self.props = Hashtable(items, ordered=True)

    def __repr__(self) -> str:
        return "PSCustomObject(%r)" % dict(self.props.items())


class NetList(list):
    """``List[T]`` / ``ArrayList``: a growable list (an array ``list`` is fixed-size in PowerShell)."""

    def __init__(self, items: Iterable[Any] = (), element_type: str = "System.Object") -> None:
        super().__init__(items)
        self.element_type = element_type


class SwitchParameter:
    __slots__ = ("is_present",)

    def __init__(self, is_present: bool) -> None:
        self.is_present = bool(is_present)

    def __bool__(self) -> bool:
        return self.is_present

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SwitchParameter):
            return self.is_present == other.is_present
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.is_present)

    def __repr__(self) -> str:
        return "Switch(%s)" % self.is_present


class EnumValue:
    """A value of a .NET enum: ``ToString()`` is its name, comparisons and JSON use the number."""

    __slots__ = ("name", "type_name", "value")

    def __init__(self, type_name: str, name: str, value: int) -> None:
        self.type_name = type_name
        self.name = name
        self.value = value

    def __eq__(self, other: object) -> bool:
        if isinstance(other, EnumValue):
            return self.type_name == other.type_name and self.value == other.value
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.type_name, self.value))

    def __repr__(self) -> str:
        return "%s.%s" % (self.type_name.rsplit(".", 1)[-1], self.name)


class ScriptBlockValue:
    """A ``{ … }`` value: the block and the session state (module) it belongs to."""

    __slots__ = ("block", "compiled", "session")

    def __init__(self, block: Any, session: Any, compiled: Any) -> None:
        self.block = block
        self.session = session
        self.compiled = compiled


def enumerate_value(value: Any) -> list | None:
    """The items PowerShell enumerates when ``value`` is written to a pipeline; None: a scalar.

    Strings, hashtables and objects are scalars; arrays and lists enumerate (one level).
    """
    if isinstance(value, list):
        return value
    if value is AUTOMATION_NULL:
        return []
    if isinstance(value, NetObject) and hasattr(value, "ps_items"):
        return list(value.ps_items())
    return None


def write_to(out: list, value: Any) -> None:
    """Write ``value`` to an output pipe the way PowerShell does (arrays and enumerables unrolled one level)."""
    if isinstance(value, list):
        out.extend(value)
    elif value is AUTOMATION_NULL:
        return
    elif isinstance(value, NetObject) and hasattr(value, "ps_items"):
        out.extend(value.ps_items())
    else:
        out.append(value)


def collect(out: list) -> Any:
    """What an assignment or a sub-expression gets from output: nothing, one object, or an array."""
    if not out:
        return AUTOMATION_NULL
    if len(out) == 1:
        return out[0]
    return list(out)
