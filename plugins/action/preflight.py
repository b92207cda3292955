# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mdeops.defender.preflight: check a role's inputs on the controller, once per run.

Runs before any host is changed (the roles run it with ``run_once``). It reads the role's
variables as the play sees them, validates them against the role's argument spec
(``roles/<role>/meta/argument_specs.yml``), refuses what Ansible would convert silently (a dict
given as a string), finds typos in variable names, validates the waves and the failure threshold,
resolves and opens the packages and the installer on the controller, and returns the values the
role uses from then on (absolute paths, the normalised organisation id, the waves).
"""

from __future__ import annotations

import os
from typing import Any

import yaml
from ansible import context
from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.mdeops.defender.plugins.module_utils import _onboarding as onb
from ansible_collections.mdeops.defender.plugins.module_utils import _preflight as pf
from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError
from ansible_collections.mdeops.defender.plugins.module_utils._package import (
    MAX_PACKAGE_BYTES,
    PackageError,
    read_package_bytes,
)
from ansible_collections.mdeops.defender.plugins.plugin_utils._action import ControllerActionBase
from ansible_collections.mdeops.defender.plugins.plugin_utils._args import check_org_id

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

#: Per role: (org id variable, [(package variable, state)], installer variable or None).
ROLE_INPUTS: dict[str, dict[str, Any]] = {
    "mde_rollout": {
        "org": "mde_rollout_expected_org_id",
        "packages": [("mde_rollout_onboarding_package", onb.PRESENT, "mde_rollout_onboarding_checksum")],
        "installer": "mde_rollout_installer",
    },
    "mde_offboard": {
        "org": "mde_offboard_expected_org_id",
        "packages": [("mde_offboard_package", onb.ABSENT, "mde_offboard_checksum")],
        "installer": None,
    },
    "mde_verify": {"org": "mde_verify_expected_org_id", "packages": [], "installer": None},
}


def role_options(role: str) -> dict:
    """The options of a role's main entry point, from its argument spec."""
    path = os.path.join(COLLECTION_ROOT, "roles", role, "meta", "argument_specs.yml")
    with open(path, encoding="utf-8") as fh:
        specs = yaml.safe_load(fh)
    return dict(specs["argument_specs"]["main"].get("options") or {})


def _validator_spec(options: dict) -> dict:
    """The role spec as Ansible's ArgumentSpecValidator takes it (documentation keys dropped)."""
    keep = ("type", "elements", "choices", "default", "required", "no_log", "aliases")
    spec = {}
    for name, option in options.items():
        entry = {k: v for k, v in option.items() if k in keep}
        if "options" in option:
            entry["options"] = _validator_spec(option["options"])
        spec[name] = entry
    return spec


def _grouped(failures: dict[str, dict]) -> str:
    """Each distinct problem once, with the hosts that have it (a bad group variable is one line)."""
    by_msg: dict[str, list[str]] = {}
    for host, failure in sorted(failures.items()):
        by_msg.setdefault(failure["msg"], []).append(host)
    parts = []
    for msg, hosts in by_msg.items():
        named = ", ".join(hosts[:5]) + (" and %d more" % (len(hosts) - 5) if len(hosts) > 5 else "")
        parts.append("%s: %s" % (named, msg))
    return " || ".join(parts)


class ActionModule(ControllerActionBase):
    MODULE = "preflight"

    def run_module(self, args: dict, task_vars: dict) -> dict:
        try:
            if args["stage"] == "fleet":
                return self._fleet(args["role"], args.get("assessment") or "", task_vars)
            try:
                out = self._check(args["role"], task_vars)
            except pf.PreflightError as exc:
                mine = {"reason": "invalid_argument", "msg": " | ".join(exc.problems), "problems": exc.problems}
                self._check_other_hosts(args["role"], task_vars, mine)
                raise
            except MdeError as exc:
                self._check_other_hosts(args["role"], task_vars, {"reason": exc.reason, "msg": exc.msg})
                raise
            self._check_other_hosts(args["role"], task_vars, None)
            return out
        except pf.PreflightError as exc:
            raise MdeError(
                "invalid_argument",
                "Pre-flight found %d problem(s); no host was changed: %s"
                % (len(exc.problems), " | ".join(exc.problems)),
                problems=exc.problems,
            ) from exc

    def _check_other_hosts(self, role: str, task_vars: dict, mine_failed: dict | None) -> None:
        """Run once, the pre-flight also checks the hosts of the play whose variables differ (host or
        group variables): one bad value stops the whole run before any host is touched, and each host
        is told its own problem (``hosts``)."""
        hostvars = task_vars.get("hostvars")
        me = task_vars.get("inventory_hostname")
        batch = task_vars.get("ansible_play_batch") or []
        if hostvars is None or not hasattr(hostvars, "raw_get"):
            return
        names = set(role_options(role)) | set(pf.PLAYBOOK_VARS)

        def raw_of(host: str) -> str:
            raw = hostvars.raw_get(host)
            return repr(sorted((k, repr(raw[k])) for k in raw if k in names or k.startswith(pf.ROLE_PREFIXES[role])))

        mine = raw_of(me) if me else None
        failures: dict[str, dict] = {}
        seen: dict[str, dict | None] = {mine: mine_failed} if mine is not None else {}
        if me and mine_failed is not None:
            failures[me] = dict(mine_failed, step="assess")
        for host in batch:
            if host == me:
                continue
            key = raw_of(host)
            if key not in seen:
                try:
                    self._check(role, hostvars[host])
                    seen[key] = None
                except pf.PreflightError as exc:
                    seen[key] = {"reason": "invalid_argument", "msg": " | ".join(exc.problems)}
                except MdeError as exc:
                    seen[key] = {"reason": exc.reason, "msg": exc.msg}
            if seen[key] is not None:
                failures[host] = dict(seen[key], step="assess")  # type: ignore[arg-type]
        if (failures and mine_failed is None) or len(failures) > 1:
            raise MdeError(
                next(iter(failures.values()))["reason"],
                "Pre-flight found problems on %d host(s); no host was changed: %s"
                % (len(failures), _grouped(failures)),
                hosts={
                    host: dict(failure, msg="Pre-flight refused the run; no host was changed: %s" % failure["msg"])
                    for host, failure in failures.items()
                },
            )

    # ------------------------------------------------------------------ variables
    def _value(self, name: str, task_vars: dict) -> Any:
        try:
            return self._templar.template(task_vars[name])
        except AnsibleError as exc:
            raise pf.PreflightError(["%s cannot be evaluated: %s" % (name, exc)]) from exc

    def _check(self, role: str, task_vars: dict) -> dict:
        options = role_options(role)
        problems = pf.unknown_variables(role, options, task_vars)
        values = {name: self._value(name, task_vars) for name in options if name in task_vars}
        problems += pf.strict_types(options, values)
        checked = ArgumentSpecValidator(_validator_spec(options)).validate(dict(values))
        problems += list(checked.error_messages)
        if problems:
            raise pf.PreflightError(problems)
        params = checked.validated_parameters
        inputs = ROLE_INPUTS[role]
        out: dict[str, Any] = {"role": role, "warnings": []}

        org_var = inputs["org"]
        org = params.get(org_var) or ""
        try:
            out["expected_org_id"] = check_org_id(org, option=org_var)
        except MdeError as exc:
            problems.append(exc.msg)
            out["expected_org_id"] = None
        if not org:
            out["warnings"].append(
                "%s is not set: the organisation every host is onboarded to is NOT checked in this run. Set it to "
                "your organisation id so that a host of another organisation is reported." % org_var
            )
        if role in ("mde_rollout", "mde_offboard"):
            problems += self._waves(task_vars, out)  # both run in waves (mde_waves, mde_max_fail_percentage)
        if role == "mde_rollout":
            out.update(_rollout_outputs(params))
        if problems:
            raise pf.PreflightError(problems)
        out["packages"] = {}
        for variable, state, checksum_var in inputs["packages"]:
            if params.get(variable):
                out["packages"][variable] = self._package(
                    variable, params[variable], state, out["expected_org_id"], params.get(checksum_var) or None
                )
        installer_var = inputs["installer"]
        if installer_var and params.get(installer_var):
            found, searched = pf.resolve_path(params[installer_var], self._search_dirs())
            if found is None:
                raise pf.PreflightError([pf.not_found(installer_var, params[installer_var], searched)])
            problem = pf.check_installer_file(installer_var, found)
            if problem:
                raise pf.PreflightError([problem])
            out["installer"] = found
            out["plan_options"]["installer_available"] = True
        out["msg"] = "pre-flight of %s passed" % role
        return out

    def _waves(self, task_vars: dict, out: dict) -> list[str]:
        problems = []
        try:
            out["waves"] = pf.parse_waves(self._value("mde_waves", task_vars) if "mde_waves" in task_vars else None)
        except pf.PreflightError as exc:
            problems += exc.problems
        try:
            out["max_fail_percentage"] = pf.parse_percentage(
                self._value("mde_max_fail_percentage", task_vars) if "mde_max_fail_percentage" in task_vars else None
            )
        except pf.PreflightError as exc:
            problems += exc.problems
        return problems

    # ------------------------------------------------------------------ files
    def _search_dirs(self) -> list[str]:
        """The user's playbook directory (the playbook given to ansible-playbook, even when it imports
        one of the collection's), the play's own directory, then the current directory."""
        given = [
            os.path.dirname(os.path.abspath(arg))
            for arg in (context.CLIARGS.get("args") or ())
            if isinstance(arg, str) and os.path.isfile(arg)
        ]
        return [*given, self._loader.get_basedir(), os.getcwd()]

    def _package(self, variable: str, path: str, state: str, org: str | None, checksum: str | None) -> dict:
        found, searched = pf.resolve_path(path, self._search_dirs())
        if found is None:
            raise MdeError("package_not_found", pf.not_found(variable, path, searched))
        if not os.path.isfile(found):
            raise MdeError(
                "package_not_found",
                "%s: %s is not a file (a directory): give the portal's zip (or its .cmd)" % (variable, found),
            )
        try:
            real = self._loader.get_real_file(found, decrypt=True)
        except AnsibleError as exc:
            raise MdeError("package_invalid", "%s: %s cannot be read: %s" % (variable, found, exc)) from exc
        try:
            if os.path.getsize(real) > MAX_PACKAGE_BYTES:
                raise MdeError("package_invalid", "%s: %s is larger than any portal package" % (variable, found))
            with open(real, "rb") as fh:
                data = fh.read()
        finally:
            self._loader.cleanup_tmp_file(real)
        try:
            package = read_package_bytes(found, data)
        except PackageError as exc:
            raise MdeError(exc.reason, "%s: %s" % (variable, exc.msg)) from exc
        try:
            onb.check_package(package, state, expected_org_id=org, checksum=checksum)
        except MdeError as exc:
            raise MdeError(exc.reason, "%s: %s" % (variable, exc.msg)) from exc
        return {
            "path": found,
            "org_id": package["org_id"],
            "kind": package["kind"],
            "script_name": package.get("script_name"),
            "sha256": package.get("package_sha256"),
        }

    # ------------------------------------------------------------------ the fleet, after assessment
    def _fleet(self, role: str, assessment_var: str, task_vars: dict) -> dict:
        """Run-level checks that need every host's assessment: a package or an installer some hosts need
        and that is not given (the run stops before any change), the same machine reached twice (all
        but one of its inventory names are refused)."""
        if not assessment_var:
            raise pf.PreflightError(["preflight stage=fleet needs assessment: the name of the registered assessment"])
        hostvars = task_vars.get("hostvars") or {}
        hosts = [str(h) for h in task_vars.get("ansible_play_hosts") or []]
        assessments = {}
        for host in hosts:
            try:
                value = hostvars[host].get(assessment_var)
            except (KeyError, AttributeError):
                value = None
            if isinstance(value, dict) and isinstance(value.get("plan"), dict):
                assessments[host] = value
        problems = pf.fleet_problems(role, assessments, self._given(task_vars))
        if problems:
            raise pf.PreflightError(problems)
        refused = pf.duplicate_hosts(assessments)
        # the waves serial will cut (validated by stage inputs; the defaults when the role runs on its own)
        try:
            waves = pf.parse_waves(self._value("mde_waves", task_vars) if "mde_waves" in task_vars else None)
        except pf.PreflightError:
            waves = list(pf.DEFAULT_WAVES)
        return {
            "refused": refused,
            "pending": pf.wave_order(pf.pending_hosts(assessments, refused), waves, assessments),
            "hosts": len(assessments),
            "msg": "fleet check passed",
        }

    def _given(self, task_vars: dict) -> dict:
        names = (
            "mde_rollout_onboarding_package",
            "mde_rollout_onboarding_remote_package",
            "mde_rollout_installer",
            "mde_rollout_remote_installer",
        )
        return {name: bool(self._value(name, task_vars)) if name in task_vars else False for name in names}


def _rollout_outputs(params: dict) -> dict:
    """What mde_rollout's tasks take from the pre-flight instead of computing it in YAML."""
    return {
        "plan_options": {
            "require_third_party_av": bool(params.get("mde_rollout_require_third_party_av")),
            "passive_method": params.get("mde_rollout_passive_method") or "registry",
            "force_passive_on_clients": bool(params.get("mde_rollout_force_passive_on_clients")),
            "installer_available": bool(params.get("mde_rollout_remote_installer")),
            "confirm_edr": bool(params.get("mde_rollout_confirm_edr_enabled")),
        },
        "intune_assignments": [
            {"target": "group", "group_id": group} for group in params.get("mde_rollout_intune_group_ids") or []
        ],
    }
