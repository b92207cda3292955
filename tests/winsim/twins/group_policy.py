"""Twins of win_mde_gpo.ps1 (on a domain controller) and win_mde_policy_refresh.ps1 (on members).

The domain (GPOs, links, OUs) lives in ``tests/winsim/domain.py``; importing that module also
registers the ``on_boot`` hook through which members process computer policy at startup.
"""

from __future__ import annotations

from .. import domain as domain_mod
from ..domain import DomainError, apply_group_policy, domain_of, gpresult_xml
from . import ModuleFail, check_args, common, twin

GPO_MODULE = "mdeops.defender.win_mde_gpo"
REFRESH_MODULE = "mdeops.defender.win_mde_policy_refresh"

#: What win_mde_gpo.ps1 answers when Get-Command New-GPO finds nothing and it is asked to change.
NO_GROUP_POLICY_MODULE = (
    "the GroupPolicy PowerShell module is not available on this host (Get-Command New-GPO failed): run on a "
    "domain controller or a server with the Group Policy Management feature (RSAT)"
)
CHANGE_OPS = (
    "create_gpo",
    "set_comment",
    "set_preference",
    "remove_preference",
    "set_policy",
    "remove_policy",
    "new_link",
    "set_link",
    "remove_link",
    "remove_gpo",
)
CHANGE_FIELDS = {"op", "comment", "key", "value_name", "type", "value", "target", "enabled", "enforced"}
_KINDS = {
    "REG_DWORD": "DWord",
    "REG_QWORD": "QWord",
    "REG_SZ": "String",
    "REG_EXPAND_SZ": "ExpandString",
    "REG_MULTI_SZ": "MultiString",
    "REG_BINARY": "Binary",
}
_ACTIONS = {"update": "Update", "create": "Create", "replace": "Replace", "delete": "Delete"}

_SAMPLE_VALUE = {
    "key": domain_mod.norm_key(r"HKLM\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection"),
    "value_name": "ForceDefenderPassiveMode",
}


def has_group_policy_module(host) -> bool:
    """MODEL: domain controllers have the GroupPolicy module (GPMC); other hosts do not."""
    return int(host.os["product_type"]) == 2


def _split_key(key: str) -> tuple[str, str]:
    hive, _sep, path = domain_mod.norm_key(key).partition("\\")
    return {"HKLM": "LocalMachine", "HKCU": "CurrentUser"}.get(hive, hive), path


def _pref_out(item: dict) -> dict:
    hive, path = _split_key(item["key"])
    return {
        "hive": hive,
        "key": path,
        "value_name": item["value_name"],
        "type": _KINDS.get(item["type"], item["type"]),
        "value": item["value"],
        "action": _ACTIONS.get(item.get("action", "update"), "Update"),
        "order": int(item.get("order") or 1),
        "disabled": bool(item.get("disabled")),
    }


def _policy_out(item: dict) -> dict:
    hive, path = _split_key(item["key"])
    return {
        "hive": hive,
        "key": path,
        "value_name": item["value_name"],
        "type": _KINDS.get(item["type"], item["type"]),
        "value": item["value"],
        "state": "Set",
    }


def _value(change: dict):
    value = change.get("value")
    if change.get("type") == "DWord":
        return int(value)
    return value


def _apply(dom, name: str, change: dict) -> None:
    """What Invoke-MdeGpoChange does, on the simulated domain."""
    op = change["op"]
    if op == "create_gpo":
        dom.new_gpo(name, change.get("comment") or "")
    elif op == "set_comment":
        dom.set_comment(name, change.get("comment") or "")
    elif op == "set_preference":
        if dom.preferences(name, change["key"], change["value_name"]):
            dom.remove_preference(name, change["key"], change["value_name"])
        dom.add_preference(name, change["key"], change["value_name"], change["type"], _value(change), "update")
    elif op == "remove_preference":
        if dom.preferences(name, change["key"], change["value_name"]):
            dom.remove_preference(name, change["key"], change["value_name"])
    elif op == "set_policy":
        dom.set_policy(name, change["key"], change["value_name"], change["type"], _value(change))
    elif op == "remove_policy":
        dom.remove_policy(name, change["key"], change["value_name"])
    elif op == "new_link":
        dom.new_link(name, change["target"], bool(change.get("enabled")), bool(change.get("enforced")))
    elif op == "set_link":
        dom.set_link(name, change["target"], bool(change.get("enabled")), bool(change.get("enforced")))
    elif op == "remove_link":
        dom.remove_link(name, change["target"])
    elif op == "remove_gpo":
        dom.remove_gpo(name)


def _check_change(change) -> None:
    if not isinstance(change, dict):
        raise ModuleFail(
            "argument for changes is of type %s and we were unable to convert to dict" % type(change).__name__
        )
    unknown = sorted(set(change) - CHANGE_FIELDS)
    if unknown:
        raise ModuleFail(
            "Unsupported parameters for (%s) module: %s found in changes. Supported parameters include: %s"
            % (GPO_MODULE, ", ".join(unknown), ", ".join(sorted(CHANGE_FIELDS)))
        )
    if change.get("op") not in CHANGE_OPS:
        raise ModuleFail(
            "value of op must be one of: %s, got: %s found in changes" % (", ".join(CHANGE_OPS), change.get("op"))
        )


def _target(dom, dn: str) -> dict:
    if not dom.ou_exists(dn):
        return {
            "target": dn,
            "exists": False,
            "blocks_inheritance": False,
            "links": [],
            "inherited": [],
            "error": 'The "%s" container does not exist in the %s domain.' % (dn, dom.name),
        }
    links = []
    for order, link in enumerate(dom.links_on(dn), start=1):
        gpo = dom.gpos.get(link["gpo_id"]) or {}
        links.append(
            {
                "gpo_id": link["gpo_id"].lower(),
                "display_name": gpo.get("name"),
                "enabled": link["enabled"],
                "enforced": link["enforced"],
                "order": order,
                "target": domain_mod.norm_dn(dn),
            }
        )
    inherited = [dict(lk, gpo_id=lk["gpo_id"].lower()) for lk in dom.inherited_links(dn)]
    return {
        "target": dn,
        "exists": True,
        "error": None,
        "blocks_inheritance": dom.blocks_inheritance(dn),
        "links": links,
        "inherited": inherited,
    }


def _conflicts(dom, targets: list[dict], values: list[dict], own_id: str) -> list[dict]:
    reach: dict[str, dict] = {}
    for t in targets:
        for link in t["inherited"]:
            if link["gpo_id"] == own_id:
                continue
            reach.setdefault(link["gpo_id"], {"display_name": link["display_name"], "targets": []})
            reach[link["gpo_id"]]["targets"].append(t["target"])
    out = []
    for gpo_id, info in reach.items():
        gpo = dom.gpos.get(gpo_id.upper())
        if gpo is None:
            continue
        for v in values:
            for kind, items in (
                ("policy", dom.policies(gpo["name"], v["key"], v["value_name"])),
                ("preference", dom.preferences(gpo["name"], v["key"], v["value_name"])),
            ):
                for item in items:
                    out.append(
                        {
                            "gpo_id": gpo_id,
                            "display_name": info["display_name"],
                            "kind": kind,
                            "key": v["key"],
                            "value_name": v["value_name"],
                            "value": item["value"],
                            "targets": list(info["targets"]),
                        }
                    )
    return out


@twin(
    GPO_MODULE,
    sample_args={
        "name": "MDE passive mode",
        "target_ous": ["OU=Servers,DC=corp,DC=example,DC=com"],
        "preference_values": [_SAMPLE_VALUE],
        "policy_values": [],
        "conflict_values": [],
        "changes": [],
    },
)
def win_mde_gpo(host, args, ctx):
    opts = check_args(
        GPO_MODULE,
        args,
        {
            "name": ...,
            "target_ous": [],
            "preference_values": [],
            "policy_values": [],
            "conflict_values": [],
            "changes": [],
        },
    )
    result = {
        "changed": False,
        "group_policy_module": has_group_policy_module(host),
        "domain": None,
        "gpo": None,
        "preferences": [],
        "policies": [],
        "links": [],
        "targets": [],
        "conflicts": [],
        "applied": [],
    }
    for change in opts["changes"]:
        _check_change(change)
    if not result["group_policy_module"]:
        if opts["changes"]:
            raise ModuleFail(NO_GROUP_POLICY_MODULE)
        return result
    dom = domain_of(host)
    if dom is None:
        raise ModuleFail("reading GPO '%s': this computer is not joined to a domain" % opts["name"])
    name = opts["name"]
    result["domain"] = dom.name
    with dom.lock:
        for change in opts["changes"]:
            if not ctx.check_mode:
                try:
                    _apply(dom, name, change)
                except DomainError as exc:
                    dom.save_if_changed()
                    raise ModuleFail("changing GPO '%s' (%s) failed: %s" % (name, change["op"], exc)) from None
            result["applied"].append(change["op"])
            result["changed"] = True
        dom.save_if_changed()
        gpo = dom.gpo_by_name(name)
        own_id = ""
        if gpo is not None:
            own_id = gpo["id"].lower()
            result["gpo"] = {
                "id": own_id,
                "display_name": gpo["name"],
                "description": gpo["comment"],
                "gpo_status": gpo["status"],
                "domain_name": dom.name,
                "computer_version": int(gpo.get("version", 0)),
            }
            result["preferences"] = [
                _pref_out(p)
                for v in opts["preference_values"]
                for p in dom.preferences(name, v["key"], v["value_name"])
            ]
            result["policies"] = [
                _policy_out(p) for v in opts["policy_values"] for p in dom.policies(name, v["key"], v["value_name"])
            ]
            result["links"] = dom.soms_linking(gpo["id"])
        result["targets"] = [_target(dom, dn) for dn in opts["target_ous"]]
        result["conflicts"] = _conflicts(dom, result["targets"], opts["conflict_values"], own_id)
    return result


_GPUPDATE_OK = "Updating policy...\r\n\r\nComputer Policy update has completed successfully.\r\n\r\n"
_WATCHED = ("force_defender_passive_mode", "guide_force_passive_mode", "disable_antispyware")


@twin(REFRESH_MODULE, sample_args={"timeout": 30})
def win_mde_policy_refresh(host, args, ctx):
    check_args(REFRESH_MODULE, args, {"timeout": 120})
    before = common.policy_values(host)
    result = {
        "changed": False,
        "refreshed": False,
        "gpupdate": None,
        "registry_before": before,
        "registry": {},
        "computer": common.computer_info(host),
        "gpresult_xml": None,
        "gpresult_error": None,
    }
    if not ctx.check_mode:
        apply_group_policy(host)
        result["gpupdate"] = {"rc": 0, "stdout": _GPUPDATE_OK}
        result["refreshed"] = True
    result["registry"] = common.policy_values(host)
    result["changed"] = any(before.get(k) != result["registry"].get(k) for k in _WATCHED)
    result["gpresult_xml"] = gpresult_xml(host)
    return result
