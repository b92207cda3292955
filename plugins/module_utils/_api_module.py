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

import json
import sys

from ansible.module_utils.basic import AnsibleModule, _load_params
from ansible.module_utils.common import validation

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


def _secret_values(spec: dict, params: object) -> list[str]:
    """Values of the options marked no_log (recursively), as strings."""
    found: list[str] = []
    if not isinstance(params, dict):
        return found
    for name, option in (spec or {}).items():
        value = params.get(name)
        if value is None:
            continue
        if option.get("no_log"):
            found.append(str(value))
        sub = option.get("options")
        if sub:
            for item in value if isinstance(value, list) else [value]:
                found.extend(_secret_values(sub, item))
    return [v for v in found if v]


def _hidden(spec: dict, params: object) -> object:
    """A copy of the parameters with every no_log value replaced (recursively)."""
    if not isinstance(params, dict):
        return params
    out = {}
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
    wrong = []
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
    def __init__(self, *args, **kwargs):
        self._mde_validating = True
        self._mde_spec = kwargs.get("argument_spec") or (args[0] if args else {})
        try:
            super().__init__(*args, **kwargs)
        except SystemExit:
            raise
        except Exception as exc:  # pylint: disable=broad-except
            spec = kwargs.get("argument_spec") or (args[0] if args else {})
            try:
                params = getattr(self, "params", None) or _load_params()
            except Exception:  # pylint: disable=broad-except
                params = {}
            text = "%s: %s" % (type(exc).__name__, exc)
            for secret in _secret_values(spec, params):
                text = text.replace(secret, HIDDEN)
            print(
                json.dumps(
                    {
                        "failed": True,
                        "changed": False,
                        "reason": "invalid_argument",
                        "msg": "the module's arguments are not valid: %s" % text,
                        "invocation": {"module_args": HIDDEN},
                    }
                )
            )
            sys.exit(1)
        self._mde_validating = False

    def fail_json(self, msg, **kwargs):
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
