# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mdeops.defender.win_mde_info: one round trip, then diagnosis on the controller."""

from __future__ import annotations

from ansible_collections.mdeops.defender.plugins.module_utils import _av
from ansible_collections.mdeops.defender.plugins.module_utils._diagnosis import diagnose
from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError
from ansible_collections.mdeops.defender.plugins.module_utils._mde_state import MP_STATUS_FIELDS, build_state
from ansible_collections.mdeops.defender.plugins.module_utils._package import is_guid, normalize_guid
from ansible_collections.mdeops.defender.plugins.plugin_utils._action import MdeActionBase


def read_args(patterns: list[str]) -> dict:
    """The arguments of the host read (win_mde_info.ps1, or win_mde_onboarding.ps1's ``read_state``)."""
    pats = _av.patterns_for(patterns)
    return {
        "_mp_status_fields": list(MP_STATUS_FIELDS),
        "_service_patterns": pats["services"],
        "_product_patterns": pats["products"],
    }


def interpret(raw: dict, patterns: list[str], support_policy: str, expected_org_id: str | None) -> dict:
    """The raw host read turned into the state and diagnosis that win_mde_info reports (fact ``mde``)."""
    state = build_state(raw, support_policy=support_policy, expected_org_id=expected_org_id, user_patterns=patterns)
    state["diagnosis"] = diagnose(state, expected_org_id=expected_org_id)
    return state


def gather(
    action: MdeActionBase, task_vars: dict, patterns: list[str], support_policy: str, expected_org_id: str | None
) -> dict:
    """Read a host once and return ``(state, diagnosis)`` merged as win_mde_info reports it.

    Shared by the other action plugins, which need the same view before and after a change.
    """
    raw = action._run_ps(read_args(patterns), task_vars, module="win_mde_info")
    return interpret(raw, patterns, support_policy, expected_org_id)


def check_org_id(value: str | None, option: str = "expected_org_id") -> str | None:
    if value is None or value == "":
        return None
    if not is_guid(value):
        raise MdeError(
            "invalid_argument",
            "%s must be an organisation id (a GUID such as "
            "0a1b2c3d-1111-2222-3333-444455556666), got %r" % (option, value),
        )
    return normalize_guid(value)


class ActionModule(MdeActionBase):
    MODULE = "win_mde_info"

    def run_module(self, args: dict, task_vars: dict) -> dict:
        expected = check_org_id(args.get("expected_org_id"))
        state = gather(self, task_vars, args["av_name_patterns"], args["support_policy"], expected)
        result = dict(state)
        result["changed"] = False
        result["ansible_facts"] = {"mde": state}
        return result
