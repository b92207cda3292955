"""The general .NET types scripts use: DateTime, TimeSpan, Stopwatch, Guid, byte arrays, encodings,
``[Math]``, ``[Convert]``, ``[Environment]``, ``[Regex]``, ``[StringComparison]``.

Time always comes from the host's simulated clock (``host.now()``); the simulated hosts' time
zone is UTC (local time = UTC). Sources: the .NET API reference of each type
(learn.microsoft.com/dotnet/api/system.datetime, …).
"""

from __future__ import annotations

import base64
import math
import re
import uuid
from typing import Any

from . import convert as C
from .errors import PSUnsupported, error
from .types import PSType, register
from .values import AUTOMATION_NULL, NetObject, is_null

TICKS_PER_SECOND = 10_000_000
UNIX_EPOCH_TICKS = 621_355_968_000_000_000
FILETIME_EPOCH_TICKS = 504_911_232_000_000_000
_CUSTOM = re.compile(r"yyyy|MM|dd|HH|hh|mm|ss|fffffff|ffffff|fffff|ffff|fff|ff|f|tt|M|d|H|h|m|s|'[^']*'|.", re.S)


class DateTime(NetObject):
    TYPE_NAMES = ("System.DateTime", "System.ValueType", "System.Object")

    def __init__(self, ticks: int, kind: str = "Local") -> None:
        self.ticks = int(ticks)
        self.kind = kind

    @classmethod
    def from_unix(cls, seconds: float, kind: str = "Local") -> DateTime:
        return cls(UNIX_EPOCH_TICKS + round(seconds * TICKS_PER_SECOND), kind)

    @classmethod
    def now(cls, host: Any, kind: str = "Local") -> DateTime:
        return cls.from_unix(host.now(), kind)

    def unix(self) -> float:
        return (self.ticks - UNIX_EPOCH_TICKS) / TICKS_PER_SECOND

    def to_filetime(self) -> int:
        return self.ticks - FILETIME_EPOCH_TICKS

    def _parts(self) -> tuple[int, int, int, int, int, int, int]:
        import datetime

        days, rem = divmod(self.ticks, 86_400 * TICKS_PER_SECOND)
        date = datetime.date.fromordinal(days + 1)
        seconds, frac = divmod(rem, TICKS_PER_SECOND)
        hour, rest = divmod(seconds, 3600)
        minute, second = divmod(rest, 60)
        return date.year, date.month, date.day, hour, minute, second, frac

    def format(self, fmt: str) -> str:
        y, mo, d, h, mi, s, frac = self._parts()
        if fmt == "o":
            suffix = {"Utc": "Z", "Local": "+00:00"}.get(self.kind, "")
            return "%04d-%02d-%02dT%02d:%02d:%02d.%07d%s" % (y, mo, d, h, mi, s, frac, suffix)
        if fmt == "s":
            return "%04d-%02d-%02dT%02d:%02d:%02d" % (y, mo, d, h, mi, s)
        if fmt == "u":
            return "%04d-%02d-%02d %02d:%02d:%02dZ" % (y, mo, d, h, mi, s)
        if len(fmt) == 1:
            raise PSUnsupported("", 0, "DateTime format %r" % fmt)
        tokens = {
            "yyyy": "%04d" % y, "MM": "%02d" % mo, "M": str(mo), "dd": "%02d" % d, "d": str(d), "HH": "%02d" % h,
            "H": str(h), "hh": "%02d" % ((h % 12) or 12), "h": str((h % 12) or 12), "mm": "%02d" % mi, "m": str(mi),
            "ss": "%02d" % s, "s": str(s), "tt": "AM" if h < 12 else "PM",
        }  # fmt: skip
        out = []
        for tok in _CUSTOM.findall(fmt):
            if tok in tokens:
                out.append(tokens[tok])
            elif tok.startswith("f"):
                out.append(("%07d" % frac)[: len(tok)])
            elif tok.startswith("'"):
                out.append(tok[1:-1])
            else:
                out.append(tok)
        return "".join(out)

    def ps_to_string(self) -> str:
        return self.format("M/d/yyyy h:mm:ss tt")

    def ps_expand(self) -> str:
        """``"$date"``: the invariant culture."""
        return self.format("MM/dd/yyyy HH:mm:ss")

    def ps_format(self, spec: str) -> str:
        return self.format(spec)

    def ps_json(self) -> str:
        return "/Date(%d)/" % int(self.unix() * 1000)

    def ps_equals(self, other: Any) -> bool:
        return isinstance(other, DateTime) and other.ticks == self.ticks

    def ps_order(self, other: Any) -> int:
        other_dt = to_datetime(other)
        return (self.ticks > other_dt.ticks) - (self.ticks < other_dt.ticks)

    def ps_sub(self, other: Any) -> Any:
        if isinstance(other, DateTime):
            return TimeSpan(self.ticks - other.ticks)
        if isinstance(other, TimeSpan):
            return DateTime(self.ticks - other.ticks, self.kind)
        raise PSUnsupported("", 0, "DateTime minus a %s" % C.type_name_of(other))

    def ps_add(self, other: Any) -> Any:
        if isinstance(other, TimeSpan):
            return DateTime(self.ticks + other.ticks, self.kind)
        raise PSUnsupported("", 0, "DateTime plus a %s" % C.type_name_of(other))

    def m_tostring(self, ctx: Any, fmt: Any = None) -> str:
        return self.ps_to_string() if is_null(fmt) else self.format(C.to_string(fmt))

    def m_touniversaltime(self, ctx: Any) -> DateTime:
        return DateTime(self.ticks, "Utc")

    def m_tolocaltime(self, ctx: Any) -> DateTime:
        return DateTime(self.ticks, "Local")

    def m_tofiletime(self, ctx: Any) -> int:
        return self.to_filetime()

    def m_tofiletimeutc(self, ctx: Any) -> int:
        return self.to_filetime()

    def _add(self, seconds: Any) -> DateTime:
        return DateTime(self.ticks + round(C.to_double(seconds) * TICKS_PER_SECOND), self.kind)

    def m_addseconds(self, ctx: Any, n: Any) -> DateTime:
        return self._add(n)

    def m_addminutes(self, ctx: Any, n: Any) -> DateTime:
        return self._add(C.to_double(n) * 60)

    def m_addhours(self, ctx: Any, n: Any) -> DateTime:
        return self._add(C.to_double(n) * 3600)

    def m_adddays(self, ctx: Any, n: Any) -> DateTime:
        return self._add(C.to_double(n) * 86400)

    def m_addmilliseconds(self, ctx: Any, n: Any) -> DateTime:
        return self._add(C.to_double(n) / 1000)

    def p_kind(self) -> str:
        return self.kind

    def p_ticks(self) -> int:
        return self.ticks

    def p_year(self) -> int:
        return self._parts()[0]


class TimeSpan(NetObject):
    TYPE_NAMES = ("System.TimeSpan", "System.ValueType", "System.Object")

    def __init__(self, ticks: int) -> None:
        self.ticks = int(ticks)

    def p_totalseconds(self) -> float:
        return self.ticks / TICKS_PER_SECOND

    def p_totalmilliseconds(self) -> float:
        return self.ticks / 10_000

    def p_totalminutes(self) -> float:
        return self.ticks / TICKS_PER_SECOND / 60

    def p_seconds(self) -> int:
        return int(self.ticks / TICKS_PER_SECOND) % 60

    def ps_order(self, other: Any) -> int:
        if not isinstance(other, TimeSpan):
            raise PSUnsupported("", 0, "comparing a TimeSpan with a %s" % C.type_name_of(other))
        return (self.ticks > other.ticks) - (self.ticks < other.ticks)


class Stopwatch(NetObject):
    """``System.Diagnostics.Stopwatch`` on the host's simulated clock."""

    TYPE_NAMES = ("System.Diagnostics.Stopwatch", "System.Object")

    def __init__(self, host: Any) -> None:
        self.host = host
        self.start = host.now()
        self.stopped_at: float | None = None

    def _elapsed(self) -> float:
        end = self.stopped_at if self.stopped_at is not None else self.host.now()
        return max(0.0, end - self.start)

    def p_elapsed(self) -> TimeSpan:
        return TimeSpan(round(self._elapsed() * TICKS_PER_SECOND))

    def p_elapsedmilliseconds(self) -> int:
        return int(self._elapsed() * 1000)

    def p_isrunning(self) -> bool:
        return self.stopped_at is None

    def m_stop(self, ctx: Any) -> Any:
        if self.stopped_at is None:
            self.stopped_at = self.host.now()
        return AUTOMATION_NULL


class Guid(NetObject):
    TYPE_NAMES = ("System.Guid", "System.ValueType", "System.Object")

    def __init__(self, value: uuid.UUID) -> None:
        self.value = value

    def ps_to_string(self) -> str:
        return str(self.value)

    def m_tostring(self, ctx: Any, fmt: Any = None) -> str:
        kind = "D" if is_null(fmt) or fmt == "" else C.to_string(fmt)
        text = str(self.value)
        forms = {"D": text, "N": text.replace("-", ""), "B": "{%s}" % text, "P": "(%s)" % text}
        if kind.upper() not in forms:
            raise error(
                'Exception calling "ToString" with "1" argument(s): "Format String can be only "D", "d", "N", "n", '
                '"P", "p", "B", "b", "X" or "x"."',
                "FormatException",
                exc_type="System.FormatException",
            )
        return forms[kind.upper()]

    def ps_equals(self, other: Any) -> bool:
        try:
            return to_guid(other).value == self.value
        except Exception:
            return False


def to_guid(value: Any) -> Guid:
    if isinstance(value, Guid):
        return value
    if isinstance(value, str):
        try:
            return Guid(uuid.UUID(value.strip().strip("{}()")))
        except ValueError:
            pass
    raise C.cast_error(
        value, "System.Guid", "Guid should contain 32 digits with 4 dashes (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)."
    )


def to_datetime(value: Any) -> DateTime:
    if isinstance(value, DateTime):
        return value
    if isinstance(value, str):
        import datetime

        try:
            parsed = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise C.cast_error(value, "System.DateTime", "String was not recognized as a valid DateTime.") from None
        if parsed.tzinfo is not None:
            return DateTime.from_unix(parsed.timestamp(), "Local")
        return DateTime.from_unix(parsed.replace(tzinfo=datetime.UTC).timestamp(), "Unspecified")
    raise C.cast_error(value, "System.DateTime")


class ByteArray(NetObject):
    """A ``byte[]`` (kept as Python bytes: packages are megabytes)."""

    TYPE_NAMES = ("System.Byte[]", "System.Array", "System.Object")

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)

    def p_length(self) -> int:
        return len(self.data)

    def p_count(self) -> int:
        return len(self.data)

    def ps_index(self, index: Any) -> int:
        return self.data[C.to_integer(index)]


class Encoding(NetObject):
    TYPE_NAMES = ("System.Text.Encoding", "System.Object")

    def __init__(self, name: str, bom: bool) -> None:
        self.name = name
        self.bom = bom

    def preamble(self) -> bytes:
        if not self.bom:
            return b""
        return {"utf-8": b"\xef\xbb\xbf", "utf-16-le": b"\xff\xfe"}.get(self.name, b"")

    def m_getbytes(self, ctx: Any, text: Any) -> ByteArray:
        return ByteArray(C.to_string(text).encode(self.name))

    def m_getstring(self, ctx: Any, data: Any) -> str:
        if not isinstance(data, ByteArray):
            raise PSUnsupported("", 0, "Encoding.GetString of a %s" % C.type_name_of(data))
        return data.data.decode(self.name, errors="replace")


class Match(NetObject):
    TYPE_NAMES = ("System.Text.RegularExpressions.Match", "System.Object")

    def __init__(self, m: re.Match[str] | None) -> None:
        self.m = m

    def p_success(self) -> bool:
        return self.m is not None

    def p_value(self) -> str:
        return self.m.group(0) if self.m else ""

    def p_index(self) -> int:
        return self.m.start() if self.m else 0

    def p_groups(self) -> GroupCollection:
        return GroupCollection(self.m)


class GroupCollection(NetObject):
    TYPE_NAMES = ("System.Text.RegularExpressions.GroupCollection", "System.Object")

    def __init__(self, m: re.Match[str] | None) -> None:
        self.m = m

    def ps_index(self, index: Any) -> Group:
        if self.m is None:
            return Group(None)
        key = index if isinstance(index, str) else C.to_integer(index)
        try:
            return Group(self.m.group(key))
        except IndexError:
            return Group(None)


class Group(NetObject):
    TYPE_NAMES = ("System.Text.RegularExpressions.Group", "System.Object")

    def __init__(self, text: str | None) -> None:
        self.text = text

    def p_value(self) -> str:
        return self.text or ""

    def p_success(self) -> bool:
        return self.text is not None


def _regex_match(ctx: Any, text: Any, pattern: Any, options: Any = None) -> Match:
    from .ops import dotnet_regex

    case = True
    if options is not None:
        if C.to_string(options).lower() != "ignorecase":
            raise PSUnsupported("", 0, "RegexOptions %s" % C.to_string(options))
        case = False
    return Match(dotnet_regex(C.to_string(pattern), case).search(C.to_string(text)))


def _env_target(target: Any) -> None:
    if target is not None and C.to_string(target).lower() != "process":
        raise PSUnsupported("", 0, "environment variables of target %s" % C.to_string(target))


def _get_env(ctx: Any, name: Any, target: Any = None) -> Any:
    _env_target(target)
    key = C.to_string(name).lower()
    for k, v in ctx.rs.env.items():
        if k.lower() == key:
            return v
    return None


def _expand(ctx: Any, text: Any) -> str:
    from .basic import _expand_env

    return _expand_env(ctx.rs.env, C.to_string(text))


def _math(fn: Any) -> Any:
    return lambda ctx, *args: fn(*[C.to_number(a) for a in args])


def _round(value: float, digits: int = 0) -> float:
    return float(round(value, digits))


register(
    PSType(
        "System.DateTime",
        aliases=("datetime",),
        check=lambda v: isinstance(v, DateTime),
        convert=lambda ctx, v: None if is_null(v) else to_datetime(v),
        static_props={
            "Now": lambda ctx: DateTime.now(ctx.rs.host),
            "UtcNow": lambda ctx: DateTime.now(ctx.rs.host, "Utc"),
        },
        static_methods={
            "FromFileTime": lambda ctx, ft: DateTime(C.to_integer(ft, C.INT64) + FILETIME_EPOCH_TICKS, "Local"),
            "FromFileTimeUtc": lambda ctx, ft: DateTime(C.to_integer(ft, C.INT64) + FILETIME_EPOCH_TICKS, "Utc"),
            "Parse": lambda ctx, text: to_datetime(C.to_string(text)),
        },
    )
)
register(PSType("System.TimeSpan", aliases=("timespan",), check=lambda v: isinstance(v, TimeSpan)))
register(
    PSType(
        "System.Diagnostics.Stopwatch",
        check=lambda v: isinstance(v, Stopwatch),
        static_methods={"StartNew": lambda ctx: Stopwatch(ctx.rs.host)},
    )
)
register(
    PSType(
        "System.Guid",
        aliases=("guid",),
        check=lambda v: isinstance(v, Guid),
        convert=lambda ctx, v: None if is_null(v) else to_guid(v),
        static_methods={
            "NewGuid": lambda ctx: Guid(uuid.uuid4()),
            "Parse": lambda ctx, text: to_guid(C.to_string(text)),
        },
    )
)
register(
    PSType(
        "System.Math",
        aliases=("math",),
        static_methods={
            "Max": _math(max),
            "Min": _math(min),
            "Ceiling": _math(lambda x: float(math.ceil(x))),
            "Floor": _math(lambda x: float(math.floor(x))),
            "Abs": _math(abs),
            "Round": lambda ctx, x, *d: _round(C.to_double(x), C.to_integer(d[0]) if d else 0),
            "Truncate": _math(lambda x: float(math.trunc(x))),
            "Pow": _math(lambda x, y: float(x) ** float(y)),
        },
    )
)
register(
    PSType(
        "System.Convert",
        static_methods={
            "ToBase64String": lambda ctx, data: base64.b64encode(
                data.data if isinstance(data, ByteArray) else bytes(C.to_integer(b) for b in C.to_list(data))
            ).decode("ascii"),
            "FromBase64String": lambda ctx, text: ByteArray(base64.b64decode(C.to_string(text))),
        },
    )
)
register(
    PSType(
        "System.Environment",
        static_props={
            "SystemDirectory": lambda ctx: r"C:\Windows\system32",
            "MachineName": lambda ctx: str(ctx.rs.host.state.get("hostname", "")),
            "NewLine": lambda ctx: "\r\n",
            "UserName": lambda ctx: ctx.rs.env.get("USERNAME", ""),
        },
        static_methods={"GetEnvironmentVariable": _get_env, "ExpandEnvironmentVariables": _expand},
    )
)
register(
    PSType(
        "System.Text.RegularExpressions.Regex",
        aliases=("regex",),
        static_methods={
            "Match": _regex_match,
            "IsMatch": lambda ctx, text, pattern, *o: _regex_match(ctx, text, pattern, *o).p_success(),
            "Escape": lambda ctx, text: re.escape(C.to_string(text)),
        },
    )
)
register(
    PSType(
        "System.StringComparison",
        enum={
            "CurrentCulture": 0,
            "CurrentCultureIgnoreCase": 1,
            "InvariantCulture": 2,
            "InvariantCultureIgnoreCase": 3,
            "Ordinal": 4,
            "OrdinalIgnoreCase": 5,
        },
    )
)
register(
    PSType(
        "System.Text.Encoding",
        static_props={
            "UTF8": lambda ctx: Encoding("utf-8", True),
            "Unicode": lambda ctx: Encoding("utf-16-le", True),
            "ASCII": lambda ctx: Encoding("ascii", False),
        },
    )
)
register(
    PSType(
        "System.Text.UTF8Encoding",
        new=lambda ctx, *args: Encoding("utf-8", C.to_bool(args[0]) if args else False),
    )
)
