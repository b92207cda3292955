# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AnsibleModule for the controller-side API modules. PRIVATE to this collection.

Two things AnsibleModule does not do by itself:

* an argument-validation failure carries ``reason: invalid_argument`` like every other failure
  of the collection (AnsibleModule's own failure has no reason);
* a crash inside argument validation (seen on ansible-core 2.19 with a string given for an option
  that has suboptions) is turned into a failure whose message and invocation never carry a
  ``no_log`` value, instead of a traceback that echoes every argument.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common import validation

from ._api import (
    HAS_MSAL,
    HAS_URLLIB3,
    MSAL_IMPORT_ERROR,
    URLLIB3_IMPORT_ERROR,
    ApiClient,
    client_from_module,
    fail_module,
)
from ._api_settings import API_ARGUMENT_SPEC, API_MUTUALLY_EXCLUSIVE, API_REQUIRED_ONE_OF, with_env_fallbacks
from ._errors import MdeError

_CHECKERS = {
    "str": validation.check_type_str,
    "list": validation.check_type_list,
    "dict": validation.check_type_dict,
    "bool": validation.check_type_bool,
    "int": validation.check_type_int,
    "float": validation.check_type_float,
    "path": validation.check_type_path,
}

HIDDEN = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def _hidden(spec: dict, params: object) -> object:
    """A copy of the parameters with every no_log value replaced (recursively)."""
    if not isinstance(params, dict):
        return params
    out: dict[str, object] = {}
    for name, value in params.items():
        option = (spec or {}).get(name) or {}
        if option.get("no_log") and value is not None:
            out[name] = HIDDEN
        elif option.get("options") and isinstance(value, (dict, list)):
            items = value if isinstance(value, list) else [value]
            hidden = [_hidden(option["options"], item) for item in items]
            out[name] = hidden if isinstance(value, list) else hidden[0]
        else:
            out[name] = value
    return out


def _wrong_types(spec: dict, params: object) -> list[str]:
    """Top-level options whose value does not convert to the option's type."""
    wrong: list[str] = []
    if not isinstance(params, dict):
        return wrong
    for name, option in (spec or {}).items():
        value = params.get(name)
        checker = _CHECKERS.get(option.get("type", "str"))
        if value is None or checker is None:
            continue
        try:
            checker(value)
        except (TypeError, ValueError):
            wrong.append(name)
    return wrong


class MdeApiModule(AnsibleModule):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._mde_validating = True
        self._mde_spec = kwargs.get("argument_spec") or (args[0] if args else {})
        super().__init__(*args, **kwargs)
        self._mde_validating = False

    def fail_json(self, msg: Any, **kwargs: Any) -> None:
        if getattr(self, "_mde_validating", False):
            kwargs.setdefault("reason", "invalid_argument")
            spec = getattr(self, "_mde_spec", {}) or {}
            params = getattr(self, "params", None) or {}
            # ansible-core 2.19 may not know the no_log values yet at this point: hide them here.
            kwargs.setdefault("invocation", {"module_args": _hidden(spec, params)})
            if not any(name in msg for name in spec):
                wrong = _wrong_types(spec, params)
                if wrong:
                    msg = "%s (option: %s)" % (msg, ", ".join(wrong))
        super().fail_json(msg=msg, **kwargs)


def options(**module_options: dict) -> dict:
    """The argument spec of an API module: the shared connection options (documented by the
    ``mdeops.defender.api`` fragment, with their environment fallbacks) plus the module's own."""
    spec = with_env_fallbacks(API_ARGUMENT_SPEC)
    spec.update(module_options)
    return spec


def api_module(
    argument_spec: dict, mutually_exclusive: list | None = None, required_one_of: list | None = None
) -> MdeApiModule:
    """The module object of a controller-side API module, with the shared connection rules."""
    module = MdeApiModule(
        argument_spec=argument_spec,
        mutually_exclusive=[*API_MUTUALLY_EXCLUSIVE, *(mutually_exclusive or [])],
        required_one_of=[*API_REQUIRED_ONE_OF, *(required_one_of or [])],
        supports_check_mode=True,
    )
    if not HAS_MSAL:
        module.fail_json(msg=missing_required_lib("msal"), exception=str(MSAL_IMPORT_ERROR), reason="invalid_argument")
    if not HAS_URLLIB3:
        module.fail_json(
            msg=missing_required_lib("urllib3"), exception=str(URLLIB3_IMPORT_ERROR), reason="invalid_argument"
        )
    return module


def run_api_module(module: MdeApiModule, result: dict, work: Callable[[ApiClient], dict]) -> None:
    """Run ``work(client)``, merge what it returns into ``result`` and exit; a typed error fails the module.

    ``result`` holds every documented key up front, so success and failure results have the same
    shape; ``api_calls`` always says what the task cost.
    """
    client = None
    try:
        client = client_from_module(module)
        result.update(work(client))
    except MdeError as exc:
        result["api_calls"] = client.summary() if client else {}
        fail_module(module, exc, **result)
    except Exception as exc:  # a crash: report it as what it is, never as a state of the devices
        result["api_calls"] = client.summary() if client else {}
        crash = MdeError(
            "api_error",
            "the module crashed on an answer it did not expect (%s: %s); nothing was concluded about the "
            "devices. This is a bug of mdeops.defender, or the API changed: please report it with this message"
            % (type(exc).__name__, exc),
            exception=traceback.format_exc(),
        )
        fail_module(module, crash, **result)
    diff = result.pop("_diff", None)
    if module._diff and diff is not None:  # pylint: disable=protected-access
        result["diff"] = diff
    result["api_calls"] = client.summary() if client else {}
    module.exit_json(**result)
