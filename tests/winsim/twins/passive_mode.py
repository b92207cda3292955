"""Twin of win_mde_passive_mode.ps1: write ForceDefenderPassiveMode (and the guide's value), read back.

Like the PowerShell, it only touches the registry. Defender's mode is never set here: the
simulator derives it from the registry at boot and at onboarding (``rules.py``), so the
guide's ``ForcePassiveMode`` changes nothing, as on a real host.
"""

from __future__ import annotations

from ..host import ATP_POLICY_KEY, DEFENDER_POLICY_KEY
from . import ModuleFail, check_args, twin

FQCN = "mdeops.defender.win_mde_passive_mode"
DOC_NAME = "ForceDefenderPassiveMode"
GUIDE_NAME = "ForcePassiveMode"


def _dword_state(host, key: str, name: str) -> tuple[object, bool]:
    item = host.reg_get_item(key, name)
    if item is None:
        return None, False
    return item["data"], item.get("type") == "REG_DWORD"


def _read(host) -> dict:
    return {
        "force_defender_passive_mode": _dword_state(host, ATP_POLICY_KEY, DOC_NAME)[0],
        "guide_force_passive_mode": _dword_state(host, DEFENDER_POLICY_KEY, GUIDE_NAME)[0],
    }


@twin(FQCN, sample_args={"value": 1, "guide_state": "present"})
def win_mde_passive_mode(host, args, ctx):
    opts = check_args(FQCN, args, {"value": ..., "guide_state": "unmanaged"})
    try:
        value = int(opts["value"])
    except (TypeError, ValueError):
        raise ModuleFail(
            "argument for value is of type %s and we were unable to convert to int" % type(opts["value"]).__name__
        ) from None
    if value not in (0, 1):
        raise ModuleFail("value of value must be one of: 0, 1, got: %s" % value)
    guide_state = opts["guide_state"]
    if guide_state not in ("present", "absent", "unmanaged"):
        raise ModuleFail("value of guide_state must be one of: present, absent, unmanaged, got: %s" % guide_state)

    before = _read(host)
    after = dict(before)
    changed = False
    doc_data, doc_is_dword = _dword_state(host, ATP_POLICY_KEY, DOC_NAME)
    if doc_data != value or not doc_is_dword:
        if not ctx.check_mode:
            host.reg_set(ATP_POLICY_KEY, DOC_NAME, value, "REG_DWORD")
        after["force_defender_passive_mode"] = value
        changed = True
    guide_data, guide_is_dword = _dword_state(host, DEFENDER_POLICY_KEY, GUIDE_NAME)
    if guide_state == "present" and (guide_data != 1 or not guide_is_dword):
        if not ctx.check_mode:
            host.reg_set(DEFENDER_POLICY_KEY, GUIDE_NAME, 1, "REG_DWORD")
        after["guide_force_passive_mode"] = 1
        changed = True
    elif guide_state == "absent" and guide_data is not None:
        if not ctx.check_mode:
            host.reg_delete_value(DEFENDER_POLICY_KEY, GUIDE_NAME)
        after["guide_force_passive_mode"] = None
        changed = True
    if changed and not ctx.check_mode:
        after = _read(host)
    return {"changed": changed, "before": before, "after": after}
