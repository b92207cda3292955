# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Base class of the collection's Windows action plugins. PRIVATE: may change in any release.

An action plugin holds the decisions of a module and calls the thin same-named PowerShell
module through :meth:`MdeActionBase._run_ps`. Subclasses set ``MODULE`` and implement
:meth:`MdeActionBase.run_module`; arguments are validated here with the spec from
``module_utils/_specs.py`` (:func:`._args.check_args`) before anything is sent to the host.
"""

from __future__ import annotations

import abc
from typing import Any

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError
from ansible_collections.mdeops.defender.plugins.module_utils._reasons import REASONS
from ansible_collections.mdeops.defender.plugins.plugin_utils._args import check_args

display = Display()


#: arguments that carry a registered host read (win_mde_info's result, a change module's host_read):
#: ``invocation`` names them instead of repeating them
STATE_ARGS = ("assessment", "host_read")


class MdeActionBase(ActionBase):
    """Validate, run the PowerShell side, shape the result."""

    TRANSFERS_FILES = False
    _requires_connection = True
    #: short module name, e.g. ``win_mde_info``
    MODULE = ""
    #: keys of the user's arguments never echoed back in ``invocation``
    SECRET_ARGS: tuple[str, ...] = ()
    #: whether the result carries ``invocation`` (the controller-only bookkeeping plugins leave it out)
    INVOCATION = True
    #: the guide step this module's verdict judges (its failures carry it as ``step``)
    STEP: str | None = None

    @property
    def fqcn(self) -> str:
        return "mdeops.defender.%s" % self.MODULE

    def validate_args(self) -> dict:
        return check_args(self.MODULE, self._task.args)

    def run(self, tmp: Any = None, task_vars: dict | None = None) -> dict:
        self._supports_check_mode = True
        self._supports_async = False
        result: dict = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        try:
            args = self.validate_args()
            result.update(self.run_module(args, task_vars))
            result.setdefault("changed", False)
            if self.INVOCATION:
                result["invocation"] = {"module_args": self._invocation_args(args)}
        except MdeError as exc:
            result.update(exc.to_result())
            result.setdefault("changed", False)
            if self.STEP:
                result.setdefault("step", self.STEP)
                result.setdefault("detail", exc.msg)
        except AnsibleConnectionFailure:
            raise
        return result

    def _invocation_args(self, args: dict) -> dict:
        return {k: self._echo(k, v) for k, v in args.items()}

    def _echo(self, key: str, value: Any) -> Any:
        if key in self.SECRET_ARGS and value is not None:
            return "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
        if key in STATE_ARGS and isinstance(value, dict):
            # a whole host read (several KB): echoing it would make every registered result twice as big
            return "(a host read: %s)" % ((value.get("diagnosis") or {}).get("summary") or "given")
        return value

    @abc.abstractmethod
    def run_module(self, args: dict, task_vars: dict) -> dict:
        """The module's work on validated ``args``: each action plugin implements it."""

    def _run_ps(self, module_args: dict, task_vars: dict, module: str | None = None) -> dict:
        """Run a PowerShell module of the collection once (one WinRM round trip).

        ``module`` defaults to this plugin's own module; another one can be named (e.g. the
        read-only ``win_mde_info`` before a change). A failure there becomes :class:`MdeError`.
        The PowerShell modules support check mode themselves: they guard every change.
        """
        name = "mdeops.defender.%s" % (module or self.MODULE)
        display.vvv("%s: running %s.ps1" % (self.fqcn, name), host=self._play_context.remote_addr)
        try:
            raw: dict = self._execute_module(module_name=name, module_args=module_args, task_vars=task_vars)
        except OSError as exc:
            # The connection plugin lets a connection reset in the middle of a command through as a
            # requests/urllib3 ConnectionError (an OSError): the module may or may not have run.
            if not (
                isinstance(exc, ConnectionError)
                or type(exc).__module__.split(".", maxsplit=1)[0] in ("requests", "urllib3")
            ):
                raise
            raise MdeError(
                "unreachable",
                "%s: the WinRM connection was lost while %s ran (%s); whether it changed the host is unknown. "
                "Rerun: the module reads the host first and only does what is left" % (self.fqcn, name, exc),
            ) from exc
        if raw.get("unreachable"):
            raise AnsibleConnectionFailure(raw.get("msg", "host unreachable"))
        if raw.get("failed"):
            msg = raw.get("msg") or "the PowerShell side of %s failed" % name
            reason = str(raw["reason"]) if raw.get("reason") in REASONS else self.ps_failure_reason(raw)
            extra = {k: raw[k] for k in ("exception", "rc", "stdout", "stderr") if k in raw}
            raise MdeError(reason, "%s: %s" % (name, msg), **extra)
        return raw

    def ps_failure_reason(self, raw: dict) -> str:
        """Reason code for an unexpected failure of the PowerShell side (override per module)."""
        del raw
        return "host_error"


class ControllerActionBase(MdeActionBase):
    """An action plugin that works on the controller only (the fleet report's bookkeeping):
    no connection to the host, no ``invocation`` in the result."""

    _requires_connection = False
    INVOCATION = False
