# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The step_result filter: a registered result as fleet_progress records it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def step_result(value: Any, step: str | None = None) -> Any:
    """A task cut at its bound (``timeout:``) becomes a ``timeout`` verdict of ``step``.

    Only its message is read: ansible-core deprecates the rest of its ``timedout`` key, and a result
    holding it must not be passed on whole. Any other value is returned as it is.
    """
    if isinstance(value, Mapping) and "timedout" in value:
        out = {"failed": True, "reason": "timeout", "msg": str(value.get("msg") or "the task timed out")}
        if step:
            out["step"] = step
        return out
    return value


class FilterModule:
    def filters(self):
        return {"step_result": step_result}
