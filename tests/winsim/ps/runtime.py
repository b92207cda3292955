"""Scopes, session states (the global one and one per module), the runspace and call frames.

PowerShell scoping as modelled: a function runs in a new scope whose parent is the caller's
scope when the function belongs to the caller's session state (dynamic scoping), otherwise the
top scope of its own module. A module (``New-Module``) has its own session state whose top
scope's parent is the global scope; ``Import-Module -Scope Global`` puts its exported functions
in the global scope. Variables and functions are looked up from the current scope outwards.
"""

from __future__ import annotations

from typing import Any

from . import convert as C
from .errors import ErrorRecord, InvocationInfo, PSRuntimeError, PSUnsupported
from .values import AUTOMATION_NULL, EnumValue, NetList

MISSING = object()
ACTIONS = ("stop", "continue", "silentlycontinue", "ignore")


class Scope:
    __slots__ = ("funcs", "parent", "session", "vars")

    def __init__(self, parent: Scope | None, session: SessionState | None) -> None:
        self.vars: dict[str, Any] = {}
        self.funcs: dict[str, Function] = {}
        self.parent = parent
        self.session = session


class SessionState:
    """The global session state, or a module's."""

    def __init__(self, name: str, parent: Scope | None) -> None:
        self.name = name
        self.scope = Scope(parent, self)
        #: ``$script:`` — the module scope, or the scope the module script runs in.
        self.script_scope = self.scope


class Function:
    """A function defined by a script: its block, compiled body and the session it belongs to."""

    __slots__ = ("binder", "block", "body", "file", "line", "name", "session")

    def __init__(self, name: str, block: Any, session: SessionState, body: Any, binder: Any, line: int) -> None:
        self.name = name
        self.block = block
        self.session = session
        self.body = body
        self.binder = binder
        self.file = block.file
        self.line = line


class Runspace:
    """One module run: the host, the global scope, streams, console output, counters."""

    def __init__(self, host: Any, env: dict[str, str] | None = None) -> None:
        self.host = host
        self.env: dict[str, str] = dict(env or {})
        self.global_session = SessionState("", None)
        self.global_scope = self.global_session.scope
        self.error_stream: list[ErrorRecord] = []
        self.errors = NetList([], "System.Object")  # $Error, newest first
        self.console: list[str] = []
        self.try_depth = 0
        self.last_ok = True
        self.csharp_utils: set[str] = set()
        self.hits: dict[str, set[int]] = {}
        self.called: dict[str, set[str]] = {}
        self.depth = 0
        self.extras: dict[str, Any] = {}
        g = self.global_scope.vars
        g["erroractionpreference"] = "Continue"
        g["verbosepreference"] = "SilentlyContinue"
        g["warningpreference"] = "Continue"
        g["debugpreference"] = "SilentlyContinue"
        g["progresspreference"] = "Continue"
        g["error"] = self.errors
        g["ofs"] = " "

    def hit_set(self, file: str) -> set[int]:
        hits = self.hits.get(file)
        if hits is None:
            hits = self.hits[file] = set()
        return hits


class Frame:
    """Where code runs: the runspace and the current scope."""

    __slots__ = ("rs", "scope")

    def __init__(self, rs: Runspace, scope: Scope) -> None:
        self.rs = rs
        self.scope = scope

    @property
    def host(self) -> Any:
        return self.rs.host

    @property
    def session(self) -> SessionState:
        session = self.scope.session
        assert session is not None
        return session

    # ------------------------------------------------------------------ variables
    def get(self, name: str) -> Any:
        """The value of variable ``name`` (lower-case), ``$null`` when it does not exist."""
        value = self.lookup(name)
        return None if value is MISSING else value

    def lookup(self, name: str) -> Any:
        s: Scope | None = self.scope
        while s is not None:
            v = s.vars.get(name, MISSING)
            if v is not MISSING:
                return v
            s = s.parent
        return MISSING

    def set(self, name: str, value: Any) -> None:
        self.scope.vars[name] = value

    def scope_for(self, qualifier: str | None) -> Scope:
        if qualifier in (None, "local", "private"):
            return self.scope
        if qualifier == "global":
            return self.rs.global_scope
        if qualifier == "script":
            return self.session.script_scope
        raise PSUnsupported("", 0, "variable scope %s:" % qualifier)

    def set_matches(self, table: Any) -> None:
        self.scope.vars["matches"] = table

    # ------------------------------------------------------------------ functions
    def find_function(self, name: str) -> Function | None:
        s: Scope | None = self.scope
        while s is not None:
            fn = s.funcs.get(name)
            if fn is not None:
                return fn
            s = s.parent
        return None

    # ------------------------------------------------------------------ errors
    def error_action(self, explicit: str | None = None) -> str:
        """The effective ErrorAction: the command's ``-ErrorAction`` or ``$ErrorActionPreference``."""
        value = explicit if explicit is not None else self.get("erroractionpreference")
        text = value.name if isinstance(value, EnumValue) else C.to_string(value)
        action = text.lower()
        if action not in ACTIONS:
            raise PSUnsupported("", 0, "ErrorAction %s" % text)
        return action

    def write_error(self, record: ErrorRecord, explicit: str | None = None, merge_into: list | None = None) -> None:
        """A non-terminating error: stops (EAP/ErrorAction Stop), goes to the error stream, or is dropped."""
        action = self.error_action(explicit)
        self.rs.last_ok = False
        if action == "stop":
            raise PSRuntimeError(record)
        if action == "ignore":
            return
        self.rs.errors.insert(0, record)
        if action == "continue":
            if merge_into is not None:
                merge_into.append(record)
            else:
                self.rs.error_stream.append(record)


def locate(record: ErrorRecord, file: str, line: int, text: str = "") -> None:
    """Give an error record the position of the statement that raised it (first one wins)."""
    if record.invocation.line == 0:
        record.invocation = InvocationInfo(file, line, text)
    if not record.stack:
        record.stack = "at <ScriptBlock>, %s: line %d" % (file or "<No file>", line)


def automation_null_to_none(value: Any) -> Any:
    return None if value is AUTOMATION_NULL else value
