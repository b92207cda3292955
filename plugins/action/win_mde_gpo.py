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
from ansible_collections.mdeops.defender.plugins.module_utils._gpo_security import plan_security
from ansible_collections.mdeops.defender.plugins.plugin_utils._action import MdeActionBase


def _values(pairs: tuple[tuple[str, str], ...]) -> list[dict]:
    return [{"key": key, "value_name": name} for key, name in pairs]


class ActionModule(MdeActionBase):
    MODULE = "win_mde_gpo"
    STEP = "group_policy"

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

    def ps_args(self, desired: _gpo.Desired, changes: list[dict], group: str | None = None) -> dict:
        return {
            "name": desired.name,
            "security_group": group,
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

        group = (args.get("security_group") or "").strip() or None
        if args.get("members") is not None and group is None:
            raise MdeError(
                "invalid_argument",
                "%s: members needs security_group (the computer group the GPO is filtered on)" % self.fqcn,
            )
        members = list(args.get("members") or [])
        # A removed GPO keeps its group; only offboarding (member_state=absent) manages members then.
        manage_security = group is not None and (desired.state == "present" or args["member_state"] == "absent")
        # member_state=absent takes computers out of the group and leaves the GPO itself as it is.
        membership_only = group is not None and args["member_state"] == "absent"

        def security_plan(raw_now: dict) -> tuple[list[dict], dict, dict]:
            if not manage_security or group is None:
                return [], {}, {}
            return plan_security(
                raw_now.get("security"),
                group,
                members,
                args["member_state"],
                gpo_present=desired.state == "present" and not membership_only,
            )

        raw = self._run_ps(self.ps_args(desired, [], group if manage_security else None), task_vars)
        if not raw.get("group_policy_module"):
            raise MdeError(
                "gpo_module_missing",
                "%s: the GroupPolicy PowerShell module is not available on %s (Get-Command New-GPO found nothing). "
                "Run this task on a domain controller or a management server with the Group Policy Management "
                "feature (RSAT), usually with delegate_to and run_once." % (self.fqcn, where),
            )
        if desired.state == "present" and not membership_only:
            self.check_targets(desired, raw, where)
        current = _gpo.current_from_raw(raw)
        todo = _gpo.plan(current, desired)
        if membership_only:
            as_is = _gpo.snapshot(current)
            todo = _gpo.Plan(operations=[], before=as_is, after=as_is)
        sec_ops, sec_before, sec_after = security_plan(raw)
        operations = todo.operations + sec_ops
        changed = bool(operations)
        before = dict(todo.before, security=sec_before) if manage_security else todo.before
        after = dict(todo.after, security=sec_after) if manage_security else todo.after
        conflicts = _gpo.conflicts_from_raw(raw, current.id)
        if changed and not self._task.check_mode:
            raw = self._run_ps(self.ps_args(desired, operations, group if manage_security else None), task_vars)
            done = _gpo.current_from_raw(raw)
            after = _gpo.snapshot(done)
            left = _gpo.plan(done, desired) if not membership_only else _gpo.Plan([], after, after)
            left_sec, _unused, sec_now = security_plan(raw)
            if manage_security:
                after["security"] = sec_now
            if desired.state == "present" and (left.changed or left_sec):
                raise MdeError(
                    "host_error",
                    "%s: GPO %r still differs after the change (%s); read it with "
                    "Get-GPOReport -Name '%s' -ReportType Xml"
                    % (
                        self.fqcn,
                        desired.name,
                        ", ".join(op["op"] for op in left.operations + left_sec),
                        desired.name,
                    ),
                    before=before,
                    after=after,
                )
            conflicts = _gpo.conflicts_from_raw(raw, done.id)
        if desired.state == "present":
            warnings.extend(_gpo.conflict_warning(c) for c in conflicts)

        gpo_read = raw.get("gpo") or {}
        result: dict = {
            "changed": changed,
            "domain": raw.get("domain"),
            "gpo": {
                "id": after["id"],
                "name": after["name"] or desired.name,
                "comment": after["comment"],
                "exists": after["exists"],
                # The version the Group Policy host's domain controller has (None in check mode before
                # a change): win_mde_policy_refresh waits until the members' controllers have it.
                "version": gpo_read.get("version") if (gpo_read and not (changed and self._task.check_mode)) else None,
            },
            "links": after["links"],
            "settings": after["settings"],
            "security": after.get("security"),
            "before": before,
            "after": after,
            "operations": operations,
            "conflicts": conflicts,
            "step": self.STEP,
            "reason": None,
            "detail": "GPO %r %s%s"
            % (
                desired.name,
                ("would change (check mode): " if self._task.check_mode else "changed: ") if changed else "as wanted",
                ", ".join(op["op"] for op in operations) if changed else "",
            ),
        }
        if self._task.diff:
            result["diff"] = {"before": before, "after": after}
        if warnings:
            result["warnings"] = warnings
        return result
