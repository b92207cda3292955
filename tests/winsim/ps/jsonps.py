"""Windows PowerShell 5.1's ``ConvertTo-Json`` and ``ConvertFrom-Json`` for the values of ``values.py``.

5.1 specifics kept: enums are numbers, DateTime is ``/Date(<ms>)/``, a SwitchParameter is an object
with ``IsPresent``; ``ConvertFrom-Json`` gives PSCustomObjects and ``Object[]`` arrays. A .NET object
whose serialisation is not modelled raises ``PSUnsupported`` instead of a guessed shape.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .errors import PSUnsupported, error
from .values import AUTOMATION_NULL, EnumValue, Hashtable, NetObject, PSCustomObject, SwitchParameter


def to_plain(value: Any, depth: int = 99) -> Any:
    """The JSON-ready Python form of a PowerShell value, as 5.1's ConvertTo-Json sees it."""
    if value is None or value is AUTOMATION_NULL:
        return None
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return value
    if isinstance(value, Hashtable):
        return {str(k) if not isinstance(k, str) else k: to_plain(v, depth - 1) for k, v in value.items()}
    if isinstance(value, PSCustomObject):
        return {k: to_plain(v, depth - 1) for k, v in value.props.items()}
    if isinstance(value, list):
        return [to_plain(v, depth - 1) for v in value]
    if isinstance(value, EnumValue):
        return value.value
    if isinstance(value, SwitchParameter):
        return {"IsPresent": value.is_present}
    if isinstance(value, NetObject):
        plain = getattr(value, "ps_json", None)
        if plain is not None:
            return plain()
        raise PSUnsupported("", 0, "ConvertTo-Json of a [%s]" % value.TYPE_NAMES[0])
    raise PSUnsupported("", 0, "ConvertTo-Json of a %s" % type(value).__name__)


def to_json(value: Any, compress: bool = True) -> str:
    plain = to_plain(value)
    if compress:
        return json.dumps(plain, separators=(",", ":"), ensure_ascii=False)
    return json.dumps(plain, indent=4, ensure_ascii=False)


def _from_plain(value: Any) -> Any:
    if isinstance(value, dict):
        return PSCustomObject((k, _from_plain(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_from_plain(v) for v in value]
    return value


def from_json(text: str) -> Any:
    """``ConvertFrom-Json``: objects become PSCustomObjects, arrays Object[]."""
    try:
        return _from_plain(json.loads(text))
    except ValueError as exc:
        raise error(
            "Invalid JSON primitive: %s." % text.strip()[:40] if text.strip() else "Invalid JSON primitive: .",
            "System.ArgumentException,Microsoft.PowerShell.Commands.ConvertFromJsonCommand",
            exc_type="System.ArgumentException",
            category="NotSpecified",
        ) from exc
