"""PowerShell's conversions (LanguagePrimitives) for the values of ``values.py``.

``to_bool`` is PowerShell's truth; ``to_string`` what ``"$x"``, ``[string]$x`` and ``-join`` give;
``net_string`` what ``.ToString()`` and ``-f`` give; ``to_int``/``to_double`` the numeric casts.
Failures raise the PSInvalidCastException PowerShell raises, with its message.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .errors import PSRuntimeError, error
from .values import AUTOMATION_NULL, EnumValue, Hashtable, NetObject, PSCustomObject, ScriptBlockValue, SwitchParameter

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
_INT_TEXT = re.compile(r"^\s*[+-]?\d+\s*$")
_HEX_TEXT = re.compile(r"^\s*0x[0-9a-f]+\s*$", re.I)
_FLOAT_TEXT = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$", re.I)


def type_name_of(value: Any) -> str:
    """The .NET type name of a value (``$x.GetType().FullName``)."""
    if value is None or value is AUTOMATION_NULL:
        return "null"
    if isinstance(value, bool):
        return "System.Boolean"
    if isinstance(value, int):
        return "System.Int32" if INT32[0] <= value <= INT32[1] else "System.Int64"
    if isinstance(value, float):
        return "System.Double"
    if isinstance(value, str):
        return "System.String"
    if isinstance(value, Hashtable):
        return value.type_name
    if isinstance(value, PSCustomObject):
        return "System.Management.Automation.PSCustomObject"
    if isinstance(value, list):
        element = getattr(value, "element_type", None)
        if element is not None:
            return "System.Collections.Generic.List`1[%s]" % element
        return "System.Object[]"
    if isinstance(value, SwitchParameter):
        return "System.Management.Automation.SwitchParameter"
    if isinstance(value, EnumValue):
        return value.type_name
    if isinstance(value, ScriptBlockValue):
        return "System.Management.Automation.ScriptBlock"
    if isinstance(value, NetObject):
        return value.TYPE_NAMES[0]
    raise TypeError("not a PowerShell value: %r" % (value,))


def to_bool(value: Any) -> bool:
    """LanguagePrimitives.IsTrue."""
    if value is None or value is AUTOMATION_NULL:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        return value != ""
    if isinstance(value, list):
        if not value:
            return False
        if len(value) == 1:
            return to_bool(value[0])
        return True
    if isinstance(value, SwitchParameter):
        return value.is_present
    if isinstance(value, EnumValue):
        return value.value != 0
    return True


def double_string(value: float) -> str:
    """``[string]`` of a Double (15 significant digits, .NET's exponent form)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    text = format(value, ".15G")
    if "E" in text:
        mantissa, _sep, exp = text.partition("E")
        sign = exp[0] if exp[0] in "+-" else "+"
        digits = exp.lstrip("+-").lstrip("0") or "0"
        text = "%sE%s%s" % (mantissa, sign, digits.zfill(2))
    return text


def to_string(value: Any) -> str:
    """PowerShell's string conversion (``"$x"``, ``[string]$x``): arrays joined with spaces."""
    if value is None or value is AUTOMATION_NULL:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(to_string(v) for v in value)
    if isinstance(value, NetObject) and hasattr(value, "ps_expand"):
        return str(value.ps_expand())
    return net_string(value)


def net_string(value: Any) -> str:
    """``.ToString()`` of a value (what ``-f`` shows)."""
    if value is None or value is AUTOMATION_NULL:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return double_string(value)
    if isinstance(value, list):
        return type_name_of(value)
    if isinstance(value, Hashtable):
        return value.type_name.split("`")[0] if value.case_sensitive else value.type_name
    if isinstance(value, PSCustomObject):
        return "@{%s}" % "; ".join("%s=%s" % (k, to_string(v)) for k, v in value.props.items())
    if isinstance(value, SwitchParameter):
        return "True" if value.is_present else "False"
    if isinstance(value, EnumValue):
        return value.name
    if isinstance(value, ScriptBlockValue):
        return "<script block>"
    if isinstance(value, NetObject):
        return value.ps_to_string()
    raise TypeError("not a PowerShell value: %r" % (value,))


def cast_error(value: Any, type_name: str, detail: str | None = None) -> PSRuntimeError:
    shown = to_string(value) if not isinstance(value, list) else "System.Object[]"
    if detail is None:
        message = 'Cannot convert the "%s" value of type "%s" to type "%s".' % (shown, type_name_of(value), type_name)
    else:
        message = 'Cannot convert value "%s" to type "%s". Error: "%s"' % (shown, type_name, detail)
    return error(
        message,
        "InvalidCastFromStringToInteger" if detail else "ConvertToFinalInvalidCastException",
        exc_type="System.Management.Automation.PSInvalidCastException",
        category="InvalidArgument",
    )


def _round_half_even(value: float) -> int:
    return round(value)  # Python's round is banker's rounding, like .NET's Convert


def to_integer(value: Any, bounds: tuple[int, int] = INT32, type_name: str = "System.Int32") -> int:
    """``[int]`` / ``[long]`` conversions."""
    if value is None or value is AUTOMATION_NULL:
        return 0
    if isinstance(value, bool):
        result = int(value)
    elif isinstance(value, int):
        result = value
    elif isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise cast_error(value, type_name)
        result = _round_half_even(value)
    elif isinstance(value, EnumValue):
        result = value.value
    elif isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0
        if _INT_TEXT.match(text):
            result = int(text)
        elif _HEX_TEXT.match(text):
            result = int(text, 16)
        elif _FLOAT_TEXT.match(text):
            result = _round_half_even(float(text))
        else:
            raise cast_error(value, type_name, "Input string was not in a correct format.")
    else:
        raise cast_error(value, type_name)
    if not bounds[0] <= result <= bounds[1]:
        raise cast_error(
            value, type_name, "Value was either too large or too small for an %s." % type_name.split(".")[-1]
        )
    return result


def to_double(value: Any) -> float:
    if value is None or value is AUTOMATION_NULL:
        return 0.0
    if isinstance(value, bool | int | float):
        return float(value)
    if isinstance(value, EnumValue):
        return float(value.value)
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0.0
        if _FLOAT_TEXT.match(text):
            return float(text)
        if _HEX_TEXT.match(text):
            return float(int(text, 16))
        raise cast_error(value, "System.Double", "Input string was not in a correct format.")
    raise cast_error(value, "System.Double")


def to_number(value: Any) -> int | float:
    """The number an arithmetic operand becomes (strings parse as Int32, Int64 or Double)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if value is None or value is AUTOMATION_NULL:
        return 0
    if isinstance(value, EnumValue):
        return value.value
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0
        if _INT_TEXT.match(text):
            return int(text)
        if _HEX_TEXT.match(text):
            return int(text, 16)
        if _FLOAT_TEXT.match(text):
            return float(text)
        raise cast_error(value, "System.Int32", "Input string was not in a correct format.")
    raise cast_error(value, "System.Int32")


def to_list(value: Any) -> list:
    """``[object[]]$x``: an array (a scalar becomes a one-element array, ``$null`` an empty one for AutomationNull)."""
    if value is AUTOMATION_NULL:
        return []
    if isinstance(value, list):
        return list(value)
    if value is None:
        return [None]
    return [value]
