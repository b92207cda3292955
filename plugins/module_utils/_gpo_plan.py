# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What win_mde_gpo must change in a GPO: desired items, the GPO as read, the plan. PRIVATE.

* what the GPO must carry (:func:`desired_items`) and what it must not;
* the GPO as win_mde_gpo.ps1 read it (:func:`current_from_raw`);
* the plan: which operations turn the GPO that exists into the wanted one, with ``before`` and
  ``after`` built from the same computation (:func:`plan`), so check mode, diff and the real run agree;
* other GPOs that turn Defender off where this one is linked (:func:`conflicts_from_raw`).

Facts: docs/sources.md §1.2 (the value), §5.1 (the guide's inverted "Turn off Microsoft Defender
Antivirus"), §5.2 (Microsoft's Group Policy route: a Preferences registry item).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._errors import MdeError
from ._gpo_dn import gpo_guid, normalize_dn, parse_gplink
from ._registry import (
    ANTISPYWARE_ITEM,
    ATP_POLICY_KEY,
    DEFENDER_POLICY_KEY,
    DISABLE_ANTISPYWARE,
    FORCE_PASSIVE,
    GUIDE_FORCE_PASSIVE,
    GUIDE_ITEM,
    PASSIVE_ITEM,
    as_int,
    kind_name,
    reg_key,
    reg_type,
    same_value,
)

__all__ = [
    "CONFLICT_READS",
    "GUIDE_TURN_OFF_WARNING",
    "GUIDE_VALUE_WARNING",
    "POLICY_READS",
    "PREFERENCE_READS",
    "Current",
    "Desired",
    "Plan",
    "conflict_warning",
    "conflicts_from_raw",
    "current_from_raw",
    "desired_items",
    "plan",
    "snapshot",
]

#: What win_mde_gpo.ps1 is asked to read in the GPO (preference items and Registry.pol policy values)
#: and in the other GPOs that reach the target OUs.
PREFERENCE_READS = (PASSIVE_ITEM, GUIDE_ITEM, ANTISPYWARE_ITEM)
POLICY_READS = (ANTISPYWARE_ITEM,)
CONFLICT_READS = (ANTISPYWARE_ITEM,)

GUIDE_TURN_OFF_WARNING = (
    "guide_turn_off_defender: the GPO enables 'Turn off Microsoft Defender Antivirus' (DisableAntiSpyware = 1) "
    "as the source guide says. This is NOT a passive-mode setting: Microsoft says to make sure this policy is "
    "disabled; Windows 10/11 ignore it since platform 4.18.2007.8; it must be cleared for the Defender for "
    "Endpoint sensor to work next to a third-party antivirus on older platforms; onboarded devices must be "
    "excluded from it; and on Windows Server, applied before onboarding, it leaves Defender disabled instead of "
    "passive. Tamper-protected hosts ignore it. ForceDefenderPassiveMode, which this GPO also carries, is the "
    "documented route."
)
GUIDE_VALUE_WARNING = (
    "guide_value: the GPO also sets the source guide's Windows Defender\\ForcePassiveMode, which no Microsoft "
    "documentation uses and Windows ignores. The value that works is ForceDefenderPassiveMode under "
    "Windows Advanced Threat Protection, which the GPO carries as well."
)


# ---------------------------------------------------------------------------- desired state


@dataclass
class Desired:
    """What the user asked win_mde_gpo for (validated options)."""

    name: str
    state: str = "present"
    comment: str | None = None
    targets: list[str] = field(default_factory=list)
    link_enabled: bool = True
    enforced: bool = False
    purge_links: bool = False
    passive_mode_value: int = 1
    guide_value: bool = False
    guide_turn_off_defender: bool = False
    ensure_defender_not_turned_off: bool = True


def _pref(key: str, name: str, value: int) -> dict:
    return {
        "kind": "preference",
        "key": key,
        "value_name": name,
        "type": "REG_DWORD",
        "value": value,
        "action": "update",
        "disabled": False,
    }


def _policy(key: str, name: str, value: int) -> dict:
    return {"kind": "policy", "key": key, "value_name": name, "type": "REG_DWORD", "value": value}


def desired_items(d: Desired) -> tuple[list[dict], list[tuple[str, str, str, bool]]]:
    """``(wanted, unwanted)``: the items the GPO must carry, and ``(kind, key, name, only_if_nonzero)``
    of the items it must not carry.

    * ForceDefenderPassiveMode as a Group Policy Preferences registry item, action Update
      (Microsoft's documented Group Policy route, docs/sources.md §5.2) - always.
    * The guide's Windows Defender\\ForcePassiveMode preference item - only with ``guide_value``,
      otherwise removed from this GPO.
    * DisableAntiSpyware = 1 ("Turn off Microsoft Defender Antivirus") as the Administrative Templates
      policy value - only with ``guide_turn_off_defender``; with ``ensure_defender_not_turned_off`` a
      non-zero DisableAntiSpyware (policy or preference) is removed from this GPO. 0 ("Disabled", what
      Microsoft asks for) is left alone.
    """
    wanted = [_pref(ATP_POLICY_KEY, FORCE_PASSIVE, d.passive_mode_value)]
    unwanted: list[tuple[str, str, str, bool]] = []
    if d.guide_value:
        wanted.append(_pref(DEFENDER_POLICY_KEY, GUIDE_FORCE_PASSIVE, 1))
    else:
        unwanted.append(("preference", DEFENDER_POLICY_KEY, GUIDE_FORCE_PASSIVE, False))
    if d.guide_turn_off_defender:
        wanted.append(_policy(DEFENDER_POLICY_KEY, DISABLE_ANTISPYWARE, 1))
        unwanted.append(("preference", DEFENDER_POLICY_KEY, DISABLE_ANTISPYWARE, True))
    elif d.ensure_defender_not_turned_off:
        unwanted.append(("policy", DEFENDER_POLICY_KEY, DISABLE_ANTISPYWARE, True))
        unwanted.append(("preference", DEFENDER_POLICY_KEY, DISABLE_ANTISPYWARE, True))
    return wanted, unwanted


# ---------------------------------------------------------------------------- what exists


@dataclass
class Current:
    """The GPO as win_mde_gpo.ps1 read it (only the values this module manages)."""

    exists: bool = False
    id: str | None = None
    name: str | None = None
    comment: str | None = None
    domain: str | None = None
    items: list[dict] = field(default_factory=list)
    #: dn_key -> {"target", "enabled", "enforced", "order"}
    links: dict[str, dict] = field(default_factory=dict)


def _item_from_raw(kind: str, raw: dict) -> dict:
    item = {
        "kind": kind,
        "key": reg_key(raw.get("hive"), raw.get("key")) if raw.get("hive") else reg_key(raw.get("key")),
        "value_name": str(raw.get("value_name") or ""),
        "type": reg_type(raw.get("type")),
        "value": raw.get("value"),
    }
    if item["type"] in ("REG_DWORD", "REG_QWORD"):
        item["value"] = as_int(item["value"])
    if kind == "preference":
        item["action"] = str(raw.get("action") or "update").lower()
        item["disabled"] = bool(raw.get("disabled"))
    return item


def current_from_raw(raw: dict) -> Current:
    """Normalise what win_mde_gpo.ps1 returned."""
    gpo = raw.get("gpo") or None
    cur = Current(domain=raw.get("domain"))
    if gpo:
        cur.exists = True
        cur.id = gpo_guid(gpo.get("id"))
        cur.name = gpo.get("display_name")
        cur.comment = gpo.get("description") or ""
    cur.items = [_item_from_raw("preference", p) for p in raw.get("preferences") or []]
    cur.items += [_item_from_raw("policy", p) for p in raw.get("policies") or []]
    if cur.exists:
        for som in raw.get("links") or []:
            for link in parse_gplink(som.get("gplink")):
                if link["gpo_id"] == cur.id:
                    target = _safe_dn(som.get("target"))
                    cur.links[target.lower()] = {
                        "target": target,
                        "enabled": link["enabled"],
                        "enforced": link["enforced"],
                        "order": None,
                    }
        for target in raw.get("targets") or []:
            for link in target.get("links") or []:
                if gpo_guid(link.get("gpo_id")) == cur.id:
                    dn = _safe_dn(target.get("target"))
                    entry = cur.links.setdefault(dn.lower(), {"target": dn})
                    entry.update(
                        {
                            "enabled": bool(link.get("enabled")),
                            "enforced": bool(link.get("enforced")),
                            "order": as_int(link.get("order")),
                        }
                    )
    return cur


def _safe_dn(dn: Any) -> str:
    try:
        return normalize_dn(dn)
    except MdeError:
        return str(dn or "")


def _sort_items(items: list[dict]) -> list[dict]:
    return sorted(items, key=lambda i: (i["kind"], i["key"].lower(), i["value_name"].lower(), str(i.get("value"))))


def _sort_links(links: list[dict]) -> list[dict]:
    return sorted(links, key=lambda link: link["target"].lower())


def snapshot(cur: Current) -> dict:
    """The ``before``/``after`` shape: the GPO, its managed items, its links."""
    return {
        "exists": cur.exists,
        "id": cur.id,
        "name": cur.name,
        "comment": cur.comment,
        "settings": _sort_items([dict(i) for i in cur.items]),
        "links": _sort_links([dict(v) for v in cur.links.values()]),
    }


def _matches(have: dict, want: dict) -> bool:
    if have["kind"] != want["kind"] or have["type"] != want["type"] or have.get("value") != want["value"]:
        return False
    if want["kind"] == "preference":
        return have.get("action") == want["action"] and not have.get("disabled")
    return True


@dataclass
class Plan:
    operations: list[dict]
    before: dict
    after: dict

    @property
    def changed(self) -> bool:
        return bool(self.operations)


def plan(cur: Current, d: Desired) -> Plan:
    """The operations that turn ``cur`` into what ``d`` asks for, and the predicted ``after``.

    Operations (what win_mde_gpo.ps1 executes, in this order): ``create_gpo``, ``set_comment``,
    ``remove_preference``/``remove_policy``, ``set_preference``/``set_policy`` (each replaces
    every item of that key and value name: Set-GPPrefRegistryValue adds an item on every call,
    so the old ones are removed first), ``new_link``/``set_link``/``remove_link``, ``remove_gpo``.
    """
    before = snapshot(cur)
    ops: list[dict] = []
    if d.state == "absent":
        after: dict = {"exists": False, "id": None, "name": d.name, "comment": None, "settings": [], "links": []}
        if cur.exists:
            ops.append({"op": "remove_gpo"})
        else:
            after = before
        return Plan(ops, before, after)

    items = [dict(i) for i in cur.items]
    links = {k: dict(v) for k, v in cur.links.items()}
    comment = cur.comment
    if not cur.exists:
        comment = d.comment or ""
        ops.append({"op": "create_gpo", "comment": comment})
    elif d.comment is not None and d.comment != (cur.comment or ""):
        comment = d.comment
        ops.append({"op": "set_comment", "comment": d.comment})

    wanted, unwanted = desired_items(d)
    for kind, key, name, only_nonzero in unwanted:
        found = [i for i in items if i["kind"] == kind and same_value(i["key"], i["value_name"], key, name)]
        if found and (not only_nonzero or any(as_int(i.get("value")) != 0 for i in found)):
            ops.append({"op": "remove_%s" % kind, "key": key, "value_name": name})
            items = [i for i in items if i not in found]
    for want in wanted:
        found = [
            i
            for i in items
            if i["kind"] == want["kind"] and same_value(i["key"], i["value_name"], want["key"], want["value_name"])
        ]
        if len(found) == 1 and _matches(found[0], want):
            continue
        ops.append(
            {
                "op": "set_%s" % want["kind"],
                "key": want["key"],
                "value_name": want["value_name"],
                "type": kind_name(want["type"]),
                "value": want["value"],
            }
        )
        items = [i for i in items if i not in found] + [dict(want)]

    wanted_links = {t.lower(): t for t in d.targets}
    for low, target in wanted_links.items():
        have = links.get(low)
        if have is None:
            ops.append({"op": "new_link", "target": target, "enabled": d.link_enabled, "enforced": d.enforced})
            links[low] = {"target": target, "enabled": d.link_enabled, "enforced": d.enforced, "order": None}
        elif have.get("enabled") != d.link_enabled or have.get("enforced") != d.enforced:
            ops.append({"op": "set_link", "target": have["target"], "enabled": d.link_enabled, "enforced": d.enforced})
            have.update({"enabled": d.link_enabled, "enforced": d.enforced})
    if d.purge_links:
        for low in sorted(set(links) - set(wanted_links)):
            ops.append({"op": "remove_link", "target": links[low]["target"]})
            del links[low]

    after_cur = Current(
        exists=True, id=cur.id, name=cur.name or d.name, comment=comment, domain=cur.domain, items=items, links=links
    )
    return Plan(ops, before, snapshot(after_cur))


def conflicts_from_raw(raw: dict, own_id: str | None) -> list[dict]:
    """Other GPOs reaching the target OUs that set DisableAntiSpyware to a non-zero value."""
    out = []
    seen = set()
    for c in raw.get("conflicts") or []:
        gpo_id = gpo_guid(c.get("gpo_id"))
        if own_id and gpo_id == own_id:
            continue
        if not same_value(c.get("key") or "", c.get("value_name") or "", *ANTISPYWARE_ITEM):
            continue
        if as_int(c.get("value")) in (None, 0):
            continue
        entry = {
            "gpo_id": gpo_id,
            "gpo": c.get("display_name"),
            "kind": c.get("kind"),
            "key": reg_key(c.get("key")),
            "value_name": c.get("value_name"),
            "value": as_int(c.get("value")),
            "targets": list(c.get("targets") or []),
        }
        ident = (gpo_id, entry["kind"])
        if ident not in seen:
            seen.add(ident)
            out.append(entry)
    return out


def conflict_warning(conflict: dict) -> str:
    return (
        "GPO %r (%s) also reaches %s and sets DisableAntiSpyware = %s ('Turn off Microsoft Defender Antivirus'). "
        "It is not a passive-mode setting: Microsoft says to make sure it is disabled, and onboarded devices must "
        "be excluded from it (security filtering) - otherwise it can stop the sensor next to a third-party "
        "antivirus, or leave Windows Server disabled instead of passive."
        % (
            conflict.get("gpo"),
            conflict.get("gpo_id"),
            ", ".join(conflict.get("targets") or ["the target OUs"]),
            conflict.get("value"),
        )
    )
