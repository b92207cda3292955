"""What the interpreter saw in this process: coverage, unsupported constructs, module result keys.

The simulator writes it to ``$WINSIM_PS_REPORT/ps-<pid>.json`` when it stops (when the variable
names a directory); the end-to-end tests merge every file of their session: the PowerShell line
coverage, the unsupported constructs (any one fails the session) and the key paths of every
module result (for the contract check between the modules and their action plugins).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from typing import Any

from .coverage import RECORDER

ENV = "WINSIM_PS_REPORT"
log = logging.getLogger("winsim")
_LOCK = threading.Lock()
_UNSUPPORTED: list[dict[str, str]] = []
_RESULTS: dict[str, set[str]] = {}


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """``{"a": {"b": 1}, "c": [{"d": 2}]}`` → ``{"a", "a.b", "c", "c[].d"}``."""
    out: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            path = "%s.%s" % (prefix, key) if prefix else str(key)
            out.add(path)
            out |= key_paths(inner, path)
    elif isinstance(value, list):
        for item in value:
            out |= key_paths(item, prefix + "[]")
    return out


def unsupported(module: str, message: str) -> None:
    log.error("%s: %s", module, message)
    with _LOCK:
        _UNSUPPORTED.append({"module": module, "message": message})


def result(module: str, data: dict) -> None:
    paths = key_paths(data)
    with _LOCK:
        _RESULTS.setdefault(module, set()).update(paths)


def snapshot() -> dict[str, Any]:
    with _LOCK:
        return {
            "coverage": RECORDER.snapshot(),
            "unsupported": list(_UNSUPPORTED),
            "results": {m: sorted(p) for m, p in _RESULTS.items()},
        }


def write_if_asked() -> str | None:
    """Write this process's report where ``$WINSIM_PS_REPORT`` says; returns the file or None."""
    directory = os.environ.get(ENV)
    if not directory:
        return None
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "ps-%d.json" % os.getpid())
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(snapshot(), fh, sort_keys=True)
    os.replace(tmp, path)
    return path
