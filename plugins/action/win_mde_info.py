# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mdeops.defender.win_mde_info: one round trip, then diagnosis on the controller.

The read itself is shared with the other action plugins: ``plugin_utils/_host_read.py``.
"""

from __future__ import annotations

from ansible_collections.mdeops.defender.plugins.plugin_utils._action import MdeActionBase
from ansible_collections.mdeops.defender.plugins.plugin_utils._args import check_org_id
from ansible_collections.mdeops.defender.plugins.plugin_utils._host_read import gather


class ActionModule(MdeActionBase):
    MODULE = "win_mde_info"

    def run_module(self, args: dict, task_vars: dict) -> dict:
        expected = check_org_id(args.get("expected_org_id"))
        state = gather(self, task_vars, args["av_name_patterns"], args["support_policy"], expected)
        result = dict(state)
        result["changed"] = False
        result["ansible_facts"] = {"mde": state}
        return result
