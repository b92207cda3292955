# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading the arguments of the collection's action plugins. PRIVATE: may change in any release.

:func:`check_args` validates a task's arguments with ansible-core's ``ArgumentSpecValidator``
against the module's spec (``module_utils/_specs.py``); :func:`check_org_id` is the one check and
normalisation of an organisation id option.
"""

from __future__ import annotations

from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError
from ansible_collections.mdeops.defender.plugins.module_utils._package import canonical_guid
from ansible_collections.mdeops.defender.plugins.module_utils._specs import spec_for

__all__ = ["check_args", "check_org_id"]


def check_args(module: str, task_args: dict) -> dict:
    """The task's arguments validated against the module's spec (module_utils/_specs.py).

    Raises :class:`MdeError` ``invalid_argument`` naming every problem; shared by every action plugin.
    """
    spec = spec_for(module)
    validator = ArgumentSpecValidator(
        spec["argument_spec"],
        mutually_exclusive=spec.get("mutually_exclusive"),
        required_together=spec.get("required_together"),
        required_one_of=spec.get("required_one_of"),
        required_if=spec.get("required_if"),
        required_by=spec.get("required_by"),
    )
    checked = validator.validate(dict(task_args))
    if checked.error_messages:
        raise MdeError("invalid_argument", "mdeops.defender.%s: %s" % (module, "; ".join(checked.error_messages)))
    return dict(checked.validated_parameters)


def check_org_id(value: Any, option: str = "expected_org_id") -> str | None:
    """An organisation id option: None when not given, else the GUID in canonical form.

    Accepts the forms people copy from the portal and from Windows: any case, with or without
    braces (``{0A1B2C3D-...}``). Anything else raises :class:`MdeError` ``invalid_argument``
    naming the option.
    """
    if value is None or value == "":
        return None
    org_id = canonical_guid(value)
    if org_id is None:
        raise MdeError(
            "invalid_argument",
            "%s must be an organisation id (a GUID such as 0a1b2c3d-1111-2222-3333-444455556666, with or "
            "without braces), got %r" % (option, value),
        )
    return org_id
