# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mdeops.defender.win_mde_gpo (step 5 of the guide, done Microsoft's way).

Round trips to the host with the GroupPolicy module (usually ``delegate_to`` a domain controller):
one read of ``win_mde_gpo.ps1`` (no changes), then, only when the GPO differs and not in check
mode, one call that performs the planned changes and reads the GPO back. Nothing to change =
1 round trip; a change = 2. The plan, ``before``/``after`` and the diff come from one
computation in ``module_utils/_gpo_plan.py``.
"""

from __future__ import annotations

from ansible_collections.mdeops.defender.plugins.module_utils import _gpo_plan as _gpo
from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError
from ansible_collections.mdeops.defender.plugins.module_utils._gpo_dn import dn_domain, normalize_targets
from ansible_collections.mdeops.defender.plugins.plugin_utils._action import MdeActionBase


def _values(pairs: tuple[tuple[str, str], ...]) -> list[dict]:
    return [{"key": key, "value_name": name} for key, name in pairs]


class ActionModule(MdeActionBase):
    MODULE = "win_mde_gpo"

    def desired(self, args: dict) -> _gpo.Desired:
        name = (args["name"] or "").strip()
        if not name:
            raise MdeError(
                "invalid_argument", "%s: name must be the display name of the GPO, got an empty string" % self.fqcn
            )
        if (
            args["guide_turn_off_defender"]
            and args["ensure_defender_not_turned_off"]
            and "ensure_defender_not_turned_off" in self._task.args
        ):
            raise MdeError(
                "invalid_argument",
                "%s: guide_turn_off_defender and ensure_defender_not_turned_off are mutually exclusive; the guide's "
                "'Turn off Microsoft Defender Antivirus' is an explicit opt-in - set guide_turn_off_defender only"
                % self.fqcn,
            )
        return _gpo.Desired(
            name=name,
            state=args["state"],
            comment=args["comment"],
            targets=normalize_targets(args["target_ous"]) if args["state"] == "present" else [],
            link_enabled=args["link_enabled"],
            enforced=args["enforced"],
            purge_links=args["purge_links"],
            passive_mode_value=args["passive_mode_value"],
            guide_value=args["guide_value"],
            guide_turn_off_defender=args["guide_turn_off_defender"],
            ensure_defender_not_turned_off=(
                args["ensure_defender_not_turned_off"] and not args["guide_turn_off_defender"]
            ),
        )

    def ps_args(self, desired: _gpo.Desired, changes: list[dict]) -> dict:
        return {
            "name": desired.name,
            "target_ous": desired.targets,
            "_preference_values": _values(_gpo.PREFERENCE_READS),
            "_policy_values": _values(_gpo.POLICY_READS),
            "_conflict_values": _values(_gpo.CONFLICT_READS),
            "_changes": changes,
        }

    def check_targets(self, desired: _gpo.Desired, raw: dict, where: str) -> None:
        domain = str(raw.get("domain") or "").lower()
        for target in desired.targets:
            if domain and dn_domain(target) != domain:
                raise MdeError(
                    "invalid_argument", "target_ous: %r is not in the domain of %s (%s)" % (target, where, domain)
                )
        missing = [t.get("target") for t in raw.get("targets") or [] if not t.get("exists")]
        if missing:
            raise MdeError(
                "invalid_argument",
                "target_ous: %s not found in %s (%s); create the OU or fix the "
                "distinguished name"
                % (
                    ", ".join(repr(m) for m in missing),
                    domain or "the domain",
                    "; ".join(t.get("error") or "" for t in raw.get("targets") or [] if not t.get("exists")),
                ),
            )

    def run_module(self, args: dict, task_vars: dict) -> dict:
        desired = self.desired(args)
        where = str(self._task.delegate_to or task_vars.get("inventory_hostname") or "the host")
        warnings: list[str] = []
        if desired.state == "present" and desired.guide_turn_off_defender:
            warnings.append(_gpo.GUIDE_TURN_OFF_WARNING)
        if desired.state == "present" and desired.guide_value:
            warnings.append(_gpo.GUIDE_VALUE_WARNING)
        if desired.state == "absent" and args["target_ous"]:
            warnings.append("target_ous is ignored with state=absent: the whole GPO and all its links are removed")

        raw = self._run_ps(self.ps_args(desired, []), task_vars)
        if not raw.get("group_policy_module"):
            raise MdeError(
                "gpo_module_missing",
                "%s: the GroupPolicy PowerShell module is not available on %s (Get-Command New-GPO found nothing). "
                "Run this task on a domain controller or a management server with the Group Policy Management "
                "feature (RSAT), usually with delegate_to and run_once." % (self.fqcn, where),
            )
        if desired.state == "present":
            self.check_targets(desired, raw, where)
        current = _gpo.current_from_raw(raw)
        todo = _gpo.plan(current, desired)
        after = todo.after
        conflicts = _gpo.conflicts_from_raw(raw, current.id)
        if todo.changed and not self._task.check_mode:
            raw = self._run_ps(self.ps_args(desired, todo.operations), task_vars)
            done = _gpo.current_from_raw(raw)
            after = _gpo.snapshot(done)
            left = _gpo.plan(done, desired)
            if desired.state == "present" and left.changed:
                raise MdeError(
                    "host_error",
                    "%s: GPO %r still differs after the change (%s); read it with "
                    "Get-GPOReport -Name '%s' -ReportType Xml"
                    % (self.fqcn, desired.name, ", ".join(op["op"] for op in left.operations), desired.name),
                    before=todo.before,
                    after=after,
                )
            conflicts = _gpo.conflicts_from_raw(raw, done.id)
        if desired.state == "present":
            warnings.extend(_gpo.conflict_warning(c) for c in conflicts)

        result: dict = {
            "changed": todo.changed,
            "domain": raw.get("domain"),
            "gpo": {
                "id": after["id"],
                "name": after["name"] or desired.name,
                "comment": after["comment"],
                "exists": after["exists"],
            },
            "links": after["links"],
            "settings": after["settings"],
            "before": todo.before,
            "after": after,
            "operations": todo.operations,
            "conflicts": conflicts,
        }
        if self._task.diff:
            result["diff"] = {"before": todo.before, "after": after}
        if warnings:
            result["warnings"] = warnings
        return result
