"""Running scripts: compile once per script text, load module utils as modules, run a module.

``load_util`` is what ansible's module_wrapper.ps1 does with each PowerShell module util:
``New-Module -Name <util> -ScriptBlock <parsed util> | Import-Module -Scope Global`` (the util
runs in its own module scope; only its exported functions become visible, in the global scope).
``run_as_function`` runs the module script as the function ``<AnsibleModule>`` (its own scope,
which is also its ``$script:`` scope).
"""

from __future__ import annotations

import threading
from typing import Any

from . import coverage
from .compile import Compiler
from .errors import PSUnsupported
from .parser import parse
from .runtime import Frame, Runspace, Scope, SessionState

# Importing registers the cmdlets and types of the model.
# pylint: disable=unused-import
from . import basic, dotnet  # noqa: F401  isort: skip
from . import cmdlets_core  # noqa: F401  isort: skip
from . import win_cim, win_defender, win_events, win_grouppolicy, win_items, win_process  # noqa: F401  isort: skip
# pylint: enable=unused-import

_LOCK = threading.Lock()
_COMPILED: dict[int, Any] = {}


def compiled(text: str, name: str) -> Any:
    """The compiled body of a script text (parsed and compiled once per distinct text)."""
    script = parse(text, name)
    body = _COMPILED.get(id(script))
    if body is None:
        with _LOCK:
            body = _COMPILED.get(id(script))
            if body is None:
                body = Compiler(name).block(script.block.body)
                coverage.RECORDER.add_script(name, script.statement_lines)
                _COMPILED[id(script)] = body
    if script.block.params:
        raise PSUnsupported(name, script.block.line, "a param() block at the top of a script")
    return body


def new_runspace(host: Any, env: dict[str, str] | None = None) -> Runspace:
    return Runspace(host, env)


def load_util(rs: Runspace, name: str, text: str) -> None:
    """``New-Module -Name <name> -ScriptBlock … | Import-Module -Scope Global``."""
    body = compiled(text, name)
    module_name = name.rsplit(".", 2)[-2] if name.lower().endswith(".psm1") else name
    session = SessionState(module_name, rs.global_scope)
    frame = Frame(rs, session.scope)
    out: list = []
    body(frame, out)
    exports = rs.extras.get("exports", {}).get(module_name)
    names = {n.lower() for n in exports} if exports is not None else set(session.scope.funcs)
    for key, fn in session.scope.funcs.items():
        if key in names:
            rs.global_scope.funcs[key] = fn


def run_as_function(rs: Runspace, name: str, text: str, out: list | None = None) -> list:
    """Run a script the way module_wrapper.ps1 runs a module: as the function ``<AnsibleModule>``.

    The output goes to ``out`` as it is written, so what came before an ``exit`` is kept.
    """
    body = compiled(text, name)
    session = rs.global_session
    scope = Scope(rs.global_scope, session)
    session.script_scope = scope
    scope.vars["args"] = []
    out = [] if out is None else out
    body(Frame(rs, scope), out)
    return out
