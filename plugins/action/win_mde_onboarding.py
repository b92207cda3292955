# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mdeops.defender.win_mde_onboarding (step 1 of the passive-mode guide).

Everything that can be decided without running the script is decided here, before the script
is sent: the package is read and checked on the controller, the host is read once, and the
decision table of ``module_utils/_onboarding.py`` says whether anything has to run.

WinRM commands per path (each module run is one command; see docs/modules/win_mde_onboarding.md):

============================================================  =====
nothing to do (already onboarded / not onboarded for absent)    1
onboarding or offboarding                                       2
check mode (any outcome)                                        1
package refused (wrong org, expired, checksum, type, ...)       0
refusal that needs the host (wrong_org, unified_agent_required) 1
remote_package                                                 +1  (the host sends the package back first)
installer transferred from the controller                      +3  (mkdtemp, put_file, remove)
============================================================  =====
"""

from __future__ import annotations

import base64
import ntpath
import os

from ansible.errors import AnsibleError

from ansible_collections.mdeops.defender.plugins.module_utils import _av
from ansible_collections.mdeops.defender.plugins.module_utils import _onboarding as onb
from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError
from ansible_collections.mdeops.defender.plugins.module_utils._package import (
    MAX_PACKAGE_BYTES,
    PackageError,
    read_package_bytes,
)
from ansible_collections.mdeops.defender.plugins.plugin_utils._action import MdeActionBase, display
from ansible_collections.mdeops.defender.plugins.plugin_utils._args import check_org_id
from ansible_collections.mdeops.defender.plugins.plugin_utils._host_read import (
    assessed_state,
    gather,
    interpret,
    read_args,
)

_SUPPORT_POLICY = "microsoft"


def _package_error(exc: PackageError) -> MdeError:
    return MdeError(exc.reason, exc.msg)


class ActionModule(MdeActionBase):
    MODULE = "win_mde_onboarding"
    STEP = "onboard"
    #: WinRM commands of this run, and the raw answer of each PowerShell module run
    _commands: int = 0
    _raw: dict[str, dict]

    # ------------------------------------------------------------------ WinRM accounting
    def _run_ps(self, module_args: dict, task_vars: dict, module: str | None = None) -> dict:
        """Count every module run (one WinRM command) and keep its raw answer."""
        self._commands += 1
        raw = super()._run_ps(module_args, task_vars, module=module)
        self._raw = getattr(self, "_raw", {})
        self._raw[module or self.MODULE] = raw
        return raw

    # ------------------------------------------------------------------ main
    def run_module(self, args: dict, task_vars: dict) -> dict:
        self._commands = 0
        self._raw = {}
        result: dict = {
            "changed": False,
            "state": args["state"],
            "operation": None,
            "package": None,
            "before": None,
            "after": None,
            "script_result": None,
            "events": [],
            "installer": None,
            "reboot_required": False,
        }
        try:
            self._run(args, task_vars, result)
        except MdeError as exc:
            exc.extra = {**result, **exc.extra}
            raise
        finally:
            display.vv("%s: %d WinRM command(s)" % (self.fqcn, self._commands), host=self._play_context.remote_addr)
        # The verdict: the script ran (or nothing had to), so the step reached what it promised.
        result.update(step=self.STEP, reason=None, detail=result.get("msg") or "")
        return result

    def _run(self, args: dict, task_vars: dict, result: dict) -> None:
        state = args["state"]
        check_mode = bool(self._task.check_mode)
        timeout = args["timeout"]
        if timeout < 1:
            raise MdeError("invalid_argument", "timeout must be at least 1 second, got %d" % timeout)
        expected = check_org_id(args.get("expected_org_id"))
        installer_given = bool(args.get("installer") or args.get("remote_installer"))
        local_installer = None
        if state == onb.PRESENT and args.get("installer"):
            local_installer = self._find_controller_file(args["installer"], "installer")
        elif state == onb.ABSENT and installer_given:
            display.warning(
                "%s: installer/remote_installer are ignored with state=absent; offboarding does not "
                "uninstall md4ws.msi" % self.fqcn
            )
            installer_given = False

        # 1. the package, checked before anything runs on the host
        if args.get("package"):
            package = self._read_controller_package(args["package"])
            source = "controller"
        else:
            package = self._read_remote_package(args["remote_package"], task_vars)
            source = "remote"
        onb.check_package(package, state, expected_org_id=expected, checksum=args.get("checksum"))
        result["package"] = onb.package_summary(package, source)

        # 2. the host, read once (the same read as win_mde_info)
        # (the decision follows Microsoft's support table, whatever support_policy says: md4ws.msi is a fact)
        host_state = assessed_state(args.get("assessment"))
        if host_state is None:
            host_state = gather(self, task_vars, args["av_name_patterns"], _SUPPORT_POLICY, expected)
        before = onb.status_from_state(host_state)
        result["before"] = before
        support = (host_state.get("os") or {}).get("support") or {}
        # Server 2012 R2/2016: supported only with the unified solution (os.support says which is the case).
        unified_agent = bool(support.get("needs_unified_agent")) and support.get("reason") != "unified_agent_required"
        decision = onb.plan(
            state,
            package,
            before,
            force=args["force"],
            needs_unified_agent=bool(support.get("needs_unified_agent")) and state == onb.PRESENT,
            unified_agent=unified_agent,
            installer_given=installer_given,
        )
        result["operation"] = decision.operation
        installer_path = args.get("remote_installer") or args.get("installer")
        if decision.install_agent:
            result["installer"] = onb.installer_result(None, True, installer_path, args["installer_force_passive"])

        if decision.operation == onb.OP_NONE:
            result["after"] = dict(before)
            result["msg"] = decision.msg
        elif check_mode:
            result["after"] = onb.predict_after(state, package, before)
            result["changed"] = True
            result["msg"] = "would %s (check mode: nothing was transferred or run)" % decision.msg
        else:
            self._execute(args, task_vars, result, package, decision, local_installer)
        if self._task.diff and "diff" not in result:
            result["diff"] = onb.diff(before, result["after"])

    # ------------------------------------------------------------------ the change
    def _execute(
        self, args: dict, task_vars: dict, result: dict, package: dict, decision: onb.Plan, local_installer: str | None
    ) -> None:
        state = args["state"]
        ps_args = {
            "_action": decision.operation,
            "_script": package["content"],
            "_script_name": onb.safe_script_name(package["script_name"]),
            "timeout": args["timeout"],
            # the host read after the change, in the same round trip: returned as host_read
            "_read_state": read_args(args["av_name_patterns"]),
            # the script gave up waiting: wait for the wanted state within the timeout and judge that
            "_recheck_exit_codes": sorted(onb.WAIT_EXIT_CODES[package["kind"]]),
            # wait=false: no wait on the host, the caller waits (win_mde_info wait_for) and judges
            "_wait": args["wait"],
            # a server holding ForceDefenderPassiveMode = 1 is onboarded only while a third-party AV protects it
            "_service_patterns": _av.patterns_for(args["av_name_patterns"])["services"],
        }
        tmpdir = None
        try:
            if decision.install_agent:
                remote_installer = args.get("remote_installer")
                if local_installer:
                    tmpdir = self._make_tmp_path()
                    self._commands += 1
                    remote_installer = self._connection._shell.join_path(tmpdir, os.path.basename(local_installer))
                    display.vv(
                        "%s: transferring %s" % (self.fqcn, local_installer), host=self._play_context.remote_addr
                    )
                    self._transfer_file(local_installer, remote_installer)
                    self._commands += 1
                ps_args["_installer"] = remote_installer
                ps_args["installer_force_passive"] = args["installer_force_passive"]
            raw = self._run_ps(ps_args, task_vars)
        finally:
            if tmpdir:
                self._remove_tmp_path(tmpdir)
                self._commands += 1
        kind = package["kind"]
        after = onb.status_from_observed(raw.get("observed"))
        if raw.get("refused"):
            result["after"] = after
            exc = MdeError(
                str(raw["refused"]),
                "Refusing to onboard: this server holds ForceDefenderPassiveMode = 1 (or the installer would set "
                "passive mode) and the third-party antivirus's real-time protection, on at the assessment, is off "
                "now (checked again just before onboarding). Onboarding would leave it passive and unprotected; "
                "nothing was run. Turn the third-party antivirus's real-time protection back on, then rerun.",
            )
            exc.extra["protection"] = raw.get("protection")
            raise exc
        events = onb.shape_events(raw.get("events"))
        script = onb.script_result(raw.get("script_run"), kind)
        result.update(
            after=after, events=events, script_result=script, reboot_required=bool(raw.get("reboot_required"))
        )
        if decision.install_agent or raw.get("installer"):
            installer_raw = raw.get("installer") or {}
            result["installer"] = onb.installer_result(
                installer_raw,
                True,
                ps_args.get("_installer"),
                # the host leaves FORCEPASSIVEMODE off when nothing else protects it
                bool(installer_raw.get("force_passive", args["installer_force_passive"])),
            )
        installer_ran = bool(result["installer"] and result["installer"]["installed"])
        result["changed"] = installer_ran or bool(script and script["success"]) or after != result["before"]
        if self._task.diff:
            result["diff"] = onb.diff(result["before"], after)
        if state == onb.PRESENT and after.get("org_id") and after["org_id"] != package["org_id"]:
            # Onboarded into another organisation than the package's: stop hard, whatever else happened.
            raise MdeError(
                "wrong_org",
                "STOP: after running the package of organisation %s the host reports organisation %s. Offboard it "
                "from %s with that organisation's offboarding package and check the package you used."
                % (package["org_id"], after["org_id"], after["org_id"]),
            )
        pending = not args["wait"] and onb.still_starting(state, raw.get("script_run"), after)
        failure = (
            None
            if pending
            else onb.evaluate(state, args["timeout"], raw.get("installer"), raw.get("script_run"), after, events)
        )
        if failure:
            raise MdeError(failure[0], failure[1])
        result["pending"] = pending
        warning = None if pending else onb.wait_exit_warning(state, raw.get("script_run"), after)
        if warning:
            result.setdefault("warnings", []).append(warning)
        if isinstance(raw.get("state"), dict):
            # The host as win_mde_info would read it now (Defender's mode after onboarding, the
            # diagnosis): the caller does not need to read the host again.
            expected = check_org_id(args.get("expected_org_id")) or (
                package["org_id"] if state == onb.PRESENT else None
            )
            result["host_read"] = interpret(raw["state"], args["av_name_patterns"], args["support_policy"], expected)
            if pending:
                # What the settle wait needs to judge the script if the host never gets there.
                result["host_read"]["pending_onboarding"] = onb.pending_record(
                    state, args["timeout"], raw.get("script_run"), events
                )
        if pending:
            result["msg"] = (
                "ran the %s script for organisation %s; Windows is still starting or stopping the Sense sensor "
                "(judged after the settle wait)" % (package["kind"], package["org_id"])
            )
        elif state == onb.PRESENT:
            result["msg"] = "onboarded to organisation %s; Sense is running" % package["org_id"]
        else:
            result["msg"] = "offboarded from organisation %s; Sense is stopped" % package["org_id"]

    # ------------------------------------------------------------------ packages
    def _find_controller_file(self, path: str, option: str) -> str:
        try:
            return self._find_needle("files", path)
        except AnsibleError as exc:
            raise MdeError(
                "package_not_found",
                "%s '%s' was not found on the controller (relative paths are "
                "searched in the role's and playbook's files/ directories): %s" % (option, path, exc),
            ) from exc

    def _read_controller_package(self, path: str) -> dict:
        found = self._find_controller_file(path, "package")
        if not os.path.isfile(found):
            raise MdeError(
                "package_not_found",
                "package '%s' is not a file: give the path of the portal's package (the zip or the .cmd in it)" % found,
            )
        try:
            # Decrypts a package kept encrypted with ansible-vault into a private temporary file.
            real = self._loader.get_real_file(found, decrypt=True)
        except AnsibleError as exc:
            raise MdeError("package_invalid", "package '%s' cannot be read: %s" % (found, exc)) from exc
        try:
            size = os.path.getsize(real)
            if size > MAX_PACKAGE_BYTES:
                raise MdeError(
                    "package_invalid", "package '%s' is %d bytes, larger than any portal package" % (found, size)
                )
            with open(real, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise MdeError("package_not_found", "package '%s' cannot be read: %s" % (found, exc)) from exc
        finally:
            self._loader.cleanup_tmp_file(real)
        try:
            return read_package_bytes(found, data)
        except PackageError as exc:
            raise _package_error(exc) from exc

    def _read_remote_package(self, path: str, task_vars: dict) -> dict:
        raw = self._run_ps(
            {"_action": "read_package", "_path": path, "_max_bytes": onb.REMOTE_PACKAGE_MAX_BYTES}, task_vars
        )
        info = raw.get("package") or {}
        if not info.get("exists"):
            raise MdeError(
                "package_not_found",
                "remote_package '%s' does not exist on the host or the connection "
                "user cannot read it (a UNC path needs credential delegation: CredSSP or Kerberos "
                "delegation, or become)%s" % (path, ": %s" % info["error"] if info.get("error") else ""),
            )
        if info.get("too_large"):
            raise MdeError(
                "package_invalid",
                "remote_package '%s' is %s bytes, larger than any portal package "
                "(at most %d bytes are read)" % (path, info.get("size"), onb.REMOTE_PACKAGE_MAX_BYTES),
            )
        try:
            data = base64.b64decode(info.get("data") or "", validate=True)
        except ValueError as exc:
            raise MdeError("host_error", "the host sent remote_package '%s' back unreadable: %s" % (path, exc)) from exc
        try:
            return read_package_bytes(ntpath.basename(path), data)
        except PackageError as exc:
            raise _package_error(exc) from exc
