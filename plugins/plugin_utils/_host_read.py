# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host read every Windows action plugin shares. PRIVATE: may change in any release.

One WinRM round trip of ``win_mde_info.ps1`` (or the same read inside another module's run,
e.g. ``win_mde_onboarding.ps1``'s ``read_state`` after onboarding), turned on the controller
into the state and diagnosis that ``win_mde_info`` reports (``module_utils/_mde_state.py``,
``module_utils/_diagnosis.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ansible_collections.mdeops.defender.plugins.module_utils import _av
from ansible_collections.mdeops.defender.plugins.module_utils._diagnosis import diagnose
from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError
from ansible_collections.mdeops.defender.plugins.module_utils._mde_state import MP_STATUS_FIELDS, build_state

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ansible_collections.mdeops.defender.plugins.plugin_utils._action import MdeActionBase

__all__ = ["assessed_state", "gather", "interpret", "read_args"]


def read_args(patterns: list[str]) -> dict:
    """The arguments of the host read (win_mde_info.ps1, or win_mde_onboarding.ps1's ``read_state``)."""
    pats = _av.patterns_for(patterns)
    return {
        "_mp_status_fields": list(MP_STATUS_FIELDS),
        "_service_patterns": pats["services"],
        "_product_patterns": pats["products"],
    }


def interpret(raw: dict, patterns: list[str], support_policy: str, expected_org_id: str | None) -> dict:
    """The raw host read turned into the state and diagnosis that win_mde_info reports."""
    state = build_state(raw, support_policy=support_policy, expected_org_id=expected_org_id, user_patterns=patterns)
    state["diagnosis"] = diagnose(state, expected_org_id=expected_org_id)
    return state


def gather(
    action: MdeActionBase, task_vars: dict, patterns: list[str], support_policy: str, expected_org_id: str | None
) -> dict:
    """Read a host once (one round trip) and return its state with the diagnosis.

    ``expected_org_id`` must already be canonical (:func:`._args.check_org_id`).
    """
    raw = action._run_ps(read_args(patterns), task_vars, module="win_mde_info")
    return interpret(raw, patterns, support_policy, expected_org_id)


def assessed_state(assessment: object, option: str = "assessment") -> dict | None:
    """The host state from a registered win_mde_info result or a host_read (None when not given)."""
    if assessment is None:
        return None
    keys = ("os", "defender", "onboarding", "policy", "antivirus", "security_center", "diagnosis")
    given = assessment if isinstance(assessment, dict) else {}
    missing = [k for k in keys if not isinstance(given.get(k), dict)]
    if missing:
        raise MdeError(
            "invalid_argument",
            "%s must be the registered result of mdeops.defender.win_mde_info (or the host_read of a change module) "
            "for this host (missing: %s)" % (option, ", ".join(missing)),
        )
    return given
