# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Group Policy logic of step 5 (win_mde_gpo, win_mde_policy_refresh). PRIVATE: may change in any release.

Pure functions, no I/O:

* distinguished names of the OUs a GPO is linked to (validation, normalisation);
* what the GPO must carry (:func:`desired_items`) and what it must not;
* the plan: which operations turn the GPO that exists into the wanted one, with ``before`` and
  ``after`` built from the same computation (:func:`plan`), so check mode, diff and the real run agree;
* parsing of ``gpresult /scope computer /x`` (the RSOP report) to find which GPO set a registry
  value (:func:`parse_gpresult`, :func:`winning_setting`).

Facts: ``docs/sources.md`` §1.2 (the value), §5 (Group Policy; the guide's inverted "Turn off
Microsoft Defender Antivirus"), §5.3 (verification with gpupdate and gpresult).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from ._errors import MdeError

ATP_POLICY_KEY = r"HKLM\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection"
DEFENDER_POLICY_KEY = r"HKLM\SOFTWARE\Policies\Microsoft\Windows Defender"
PASSIVE_VALUE = "ForceDefenderPassiveMode"
GUIDE_VALUE = "ForcePassiveMode"
ANTISPYWARE_VALUE = "DisableAntiSpyware"

#: (key, value name) pairs
PASSIVE_ITEM = (ATP_POLICY_KEY, PASSIVE_VALUE)
GUIDE_ITEM = (DEFENDER_POLICY_KEY, GUIDE_VALUE)
ANTISPYWARE_ITEM = (DEFENDER_POLICY_KEY, ANTISPYWARE_VALUE)

#: What win_mde_gpo.ps1 is asked to read in the GPO (preference items and Registry.pol policy values)
#: and in the other GPOs that reach the target OUs.
PREFERENCE_READS = (PASSIVE_ITEM, GUIDE_ITEM, ANTISPYWARE_ITEM)
POLICY_READS = (ANTISPYWARE_ITEM,)
CONFLICT_READS = (ANTISPYWARE_ITEM,)

#: The Administrative Templates names the RSOP report uses for DisableAntiSpyware = 1, across
#: the renamings of Defender (Windows Defender -> Windows Defender Antivirus -> Microsoft Defender Antivirus).
TURN_OFF_DEFENDER_POLICY_NAMES = (
    "turn off microsoft defender antivirus",
    "turn off windows defender antivirus",
    "turn off windows defender",
)

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

_TYPE_NAMES = {
    "dword": "REG_DWORD",
    "qword": "REG_QWORD",
    "string": "REG_SZ",
    "expandstring": "REG_EXPAND_SZ",
    "multistring": "REG_MULTI_SZ",
    "binary": "REG_BINARY",
}
#: REG_* -> the RegistryValueKind name the GroupPolicy cmdlets take (-Type)
_KIND_NAMES = {
    v: k
    for k, v in {
        "DWord": "REG_DWORD",
        "QWord": "REG_QWORD",
        "String": "REG_SZ",
        "ExpandString": "REG_EXPAND_SZ",
        "MultiString": "REG_MULTI_SZ",
        "Binary": "REG_BINARY",
    }.items()
}
_HIVES = {
    "hkey_local_machine": "HKLM",
    "localmachine": "HKLM",
    "hklm": "HKLM",
    "hkey_current_user": "HKCU",
    "currentuser": "HKCU",
    "hkcu": "HKCU",
}


# ---------------------------------------------------------------------------- names


def reg_type(value: Any) -> str:
    """``DWord`` / ``REG_DWORD`` / ``dword`` -> ``REG_DWORD``."""
    text = str(value or "").strip()
    upper = text.upper()
    if upper.startswith("REG_"):
        return upper
    return _TYPE_NAMES.get(text.lower(), upper or "REG_DWORD")


def kind_name(rtype: str) -> str:
    """``REG_DWORD`` -> ``DWord`` (the -Type of Set-GPRegistryValue / Set-GPPrefRegistryValue)."""
    return _KIND_NAMES[reg_type(rtype)]


def reg_key(hive: Any, path: Any = None) -> str:
    """A registry key as ``HKLM\\SOFTWARE\\...`` from a hive name and a path, or from a full key."""
    if path is None:
        text = str(hive or "").replace("/", "\\").strip("\\")
        first, _sep, rest = text.partition("\\")
        hive, path = first.rstrip(":"), rest
    short = _HIVES.get(str(hive or "").strip().lower().rstrip(":"), str(hive or "").upper())
    return "%s\\%s" % (short, str(path or "").replace("/", "\\").strip("\\"))


def same_value(a_key: str, a_name: str, b_key: str, b_name: str) -> bool:
    return reg_key(a_key).lower() == reg_key(b_key).lower() and str(a_name).lower() == str(b_name).lower()


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------------------- distinguished names


def _split_dn(dn: str) -> list[str]:
    """Split on commas that are not escaped with a backslash (RFC 4514)."""
    parts, current, escaped = [], [], False
    for ch in dn:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            current.append(ch)
            escaped = True
        elif ch == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


_RDN = re.compile(r"^\s*([A-Za-z][A-Za-z0-9-]*)\s*=\s*(.*?)\s*$", re.S)


def normalize_dn(dn: Any, option: str = "target_ous") -> str:
    """Validate the distinguished name of an OU (or the domain root) that a GPO can be linked to.

    Returns it with upper-case attribute names and no spaces around ``=`` and ``,``.
    Raises :class:`MdeError` ``invalid_argument`` naming the option and the problem.
    """
    text = str(dn or "").strip()
    if not text:
        raise MdeError("invalid_argument", "%s: an empty distinguished name was given" % option)
    rdns = []
    for part in _split_dn(text):
        match = _RDN.match(part)
        if not match or not match.group(2):
            raise MdeError(
                "invalid_argument",
                "%s: %r is not a distinguished name (expected e.g. OU=Servers,OU=Corp,DC=corp,DC=example,DC=com)"
                % (option, text),
            )
        rdns.append((match.group(1).upper(), match.group(2)))
    attrs = [attr for attr, _value in rdns]
    if "DC" not in attrs:
        raise MdeError(
            "invalid_argument",
            "%s: %r has no DC= components; give the full distinguished name "
            "ending with the domain, e.g. ...,DC=corp,DC=example,DC=com" % (option, text),
        )
    first_dc = attrs.index("DC")
    if any(a != "DC" for a in attrs[first_dc:]):
        raise MdeError("invalid_argument", "%s: %r: the DC= components must come last" % (option, text))
    for attr in attrs[:first_dc]:
        if attr == "CN":
            raise MdeError(
                "invalid_argument",
                "%s: %r is a container (CN=...), and Group Policy cannot be linked to containers such as "
                "CN=Computers; link the GPO to an organizational unit (OU=...) or the domain root" % (option, text),
            )
        if attr != "OU":
            raise MdeError(
                "invalid_argument", "%s: %r: a GPO is linked to OU= or DC= objects only, not %s=" % (option, text, attr)
            )
    return ",".join("%s=%s" % (a, v) for a, v in rdns)


def dn_key(dn: str) -> str:
    return normalize_dn(dn).lower()


def dn_domain(dn: str) -> str:
    """``OU=X,DC=corp,DC=example,DC=com`` -> ``corp.example.com``."""
    return ".".join(v for a, v in (p.split("=", 1) for p in _split_dn(normalize_dn(dn))) if a.upper() == "DC").lower()


def normalize_targets(targets: list[str] | None, option: str = "target_ous") -> list[str]:
    """Validate and de-duplicate (case-insensitively) a list of OU distinguished names, keeping their order."""
    out: list[str] = []
    seen = set()
    for dn in targets or []:
        norm = normalize_dn(dn, option)
        if norm.lower() not in seen:
            seen.add(norm.lower())
            out.append(norm)
    domains = {dn_domain(dn) for dn in out}
    if len(domains) > 1:
        raise MdeError(
            "invalid_argument",
            "%s: the OUs belong to different domains (%s); a GPO lives in one domain"
            % (option, ", ".join(sorted(domains))),
        )
    return out


_GPLINK = re.compile(r"\[LDAP://cn=(\{[0-9A-Fa-f-]{36}\}),[^;\]]*;(\d+)\]", re.I)


def parse_gplink(text: str | None) -> list[dict]:
    """The links of an AD object's ``gPLink`` attribute (MS-GPOL 2.2.2): ``[LDAP://cn={GUID},cn=policies,...;flags]``.

    Flags: bit 0 set = link disabled, bit 1 set = enforced (no override).
    """
    out = []
    for guid, flags in _GPLINK.findall(text or ""):
        value = int(flags)
        out.append({"gpo_id": normalize_guid(guid), "enabled": not value & 1, "enforced": bool(value & 2)})
    return out


def normalize_guid(value: Any) -> str:
    """``{31b2f340-...}`` / ``31B2F340-...`` -> ``31B2F340-...`` (upper case, no braces)."""
    return str(value or "").strip().strip("{}").upper()


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
    wanted = [_pref(ATP_POLICY_KEY, PASSIVE_VALUE, d.passive_mode_value)]
    unwanted: list[tuple[str, str, str, bool]] = []
    if d.guide_value:
        wanted.append(_pref(DEFENDER_POLICY_KEY, GUIDE_VALUE, 1))
    else:
        unwanted.append(("preference", DEFENDER_POLICY_KEY, GUIDE_VALUE, False))
    if d.guide_turn_off_defender:
        wanted.append(_policy(DEFENDER_POLICY_KEY, ANTISPYWARE_VALUE, 1))
        unwanted.append(("preference", DEFENDER_POLICY_KEY, ANTISPYWARE_VALUE, True))
    elif d.ensure_defender_not_turned_off:
        unwanted.append(("policy", DEFENDER_POLICY_KEY, ANTISPYWARE_VALUE, True))
        unwanted.append(("preference", DEFENDER_POLICY_KEY, ANTISPYWARE_VALUE, True))
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
        cur.id = normalize_guid(gpo.get("id"))
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
                if normalize_guid(link.get("gpo_id")) == cur.id:
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
        after = {"exists": False, "id": None, "name": d.name, "comment": None, "settings": [], "links": []}
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
        gpo_id = normalize_guid(c.get("gpo_id"))
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


# ---------------------------------------------------------------------------- gpresult /x (RSOP)

RSOP_NS = "http://www.microsoft.com/GroupPolicy/Rsop"
TYPES_NS = "http://www.microsoft.com/GroupPolicy/Types"
SETTINGS_NS = "http://www.microsoft.com/GroupPolicy/Settings"
#: Administrative Templates and Registry.pol values
REGISTRY_NS = "http://www.microsoft.com/GroupPolicy/Settings/Registry"
#: Group Policy Preferences > Windows Settings > Registry
GPP_REGISTRY_NS = "http://www.microsoft.com/GroupPolicy/Settings/Windows/Registry"


class GpresultError(ValueError):
    """The text is not a gpresult /x report."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _ns(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _child(elem: ET.Element, local: str) -> ET.Element | None:
    for c in elem:
        if _local(c.tag) == local:
            return c
    return None


def _children(elem: ET.Element, local: str) -> list[ET.Element]:
    return [c for c in elem if _local(c.tag) == local]


def _text(elem: ET.Element | None, local: str | None = None) -> str | None:
    if elem is not None and local is not None:
        elem = _child(elem, local)
    if elem is None or elem.text is None:
        return None
    return elem.text.strip()


def _bool(text: str | None) -> bool | None:
    if text is None:
        return None
    return text.strip().lower() == "true"


def _parse_xml(text: str) -> ET.Element:
    if not isinstance(text, str) or not text.strip():
        raise GpresultError("empty gpresult report")
    body = text.lstrip("\ufeff").strip()
    # The report comes from the managed host: no DTD, no entities.
    if "<!DOCTYPE" in body or "<!ENTITY" in body:
        raise GpresultError("the gpresult report contains a DTD; refusing to parse it")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise GpresultError("the gpresult report is not well-formed XML: %s" % exc) from exc
    if _local(root.tag) != "Rsop":
        raise GpresultError("not a gpresult /x report (root element %r)" % _local(root.tag))
    return root


def _gpo_reference(elem: ET.Element, parents: dict) -> tuple[str | None, int | None]:
    """The ``<GPO><Identifier>`` and ``<Precedence>`` that a setting carries (or its nearest ancestor)."""
    node: ET.Element | None = elem
    while node is not None:
        ref = _child(node, "GPO")
        if ref is not None:
            ident = _text(ref, "Identifier")
            prec = _text(node, "Precedence")
            return (normalize_guid(ident) if ident else None), (int(prec) if prec and prec.isdigit() else None)
        node = parents.get(node)
    return None, None


def _gpp_value(rtype: str, value: str | None) -> Any:
    """Registry.xml stores DWORD/QWORD data as hexadecimal text (``00000001``)."""
    if value is None:
        return None
    if rtype in ("REG_DWORD", "REG_QWORD"):
        try:
            return int(value, 16)
        except ValueError:
            return as_int(value)
    return value


def _parse_gpo(elem: ET.Element) -> dict:
    path = _child(elem, "Path")
    ident = _text(path, "Identifier") if path is not None else None
    links = []
    for link in _children(elem, "Link"):
        links.append(
            {
                "som": _text(link, "SOMPath"),
                "applied_order": int(_text(link, "AppliedOrder") or 0),
                "link_order": as_int(_text(link, "LinkOrder")),
                "enabled": _bool(_text(link, "Enabled")),
                "enforced": _bool(_text(link, "NoOverride")),
            }
        )
    access_denied = bool(_bool(_text(elem, "AccessDenied")))
    filter_allowed = _bool(_text(elem, "FilterAllowed"))
    is_valid = _bool(_text(elem, "IsValid"))
    applied = any(link["applied_order"] > 0 for link in links)
    if applied:
        why = None
    elif access_denied:
        why = "denied (security filtering)"
    elif filter_allowed is False:
        why = "denied (WMI filter)"
    elif is_valid is False:
        why = "not valid (not found or unreadable in SYSVOL)"
    elif links and all(link["enabled"] is False for link in links):
        why = "link disabled"
    elif _bool(_text(elem, "Enabled")) is False:
        why = "GPO disabled"
    else:
        why = "empty (no settings)"
    return {
        "id": normalize_guid(ident) if ident and ident.startswith("{") else ident,
        "name": _text(elem, "Name"),
        "applied": applied,
        "applied_order": max([link["applied_order"] for link in links] or [0]),
        "not_applied_reason": why,
        "access_denied": access_denied,
        "filter_allowed": filter_allowed,
        "links": links,
        "extensions": [e.text.strip() for e in _children(elem, "ExtensionName") if e.text],
    }


def parse_gpresult(text: str) -> dict:
    """Parse ``gpresult /scope computer /x`` output.

    Returns ``{"computer": {name, domain, som, site} | None, "read_time", "gpos": [...],
    "settings": [...]}``. ``gpos`` lists every GPO of the computer section with ``applied`` and, when
    not applied, ``not_applied_reason``. ``settings`` lists registry settings:
    ``kind`` ``preference`` (Group Policy Preferences registry items), ``policy`` (Registry.pol
    values without an ADMX description) or ``admx`` (Administrative Templates policies, by name), each with
    ``gpo_id``, ``gpo`` (name) and ``precedence`` (1 = the winner).
    Raises :class:`GpresultError` when the text is not a report.
    """
    root = _parse_xml(text)
    comp = None
    for c in root:
        if _local(c.tag) == "ComputerResults":
            comp = c
    out: dict = {"computer": None, "read_time": _text(root, "ReadTime"), "gpos": [], "settings": []}
    if comp is None:
        return out
    out["computer"] = {
        "name": _text(comp, "Name"),
        "domain": _text(comp, "Domain"),
        "som": _text(comp, "SOM"),
        "site": _text(comp, "Site"),
    }
    out["gpos"] = [_parse_gpo(g) for g in _children(comp, "GPO")]
    names = {g["id"]: g["name"] for g in out["gpos"] if g["id"]}
    parents = {child: parent for parent in comp.iter() for child in parent}
    settings: list[dict] = []
    for data in _children(comp, "ExtensionData"):
        for ext in _children(data, "Extension"):
            for elem in ext.iter():
                ns, local = _ns(elem.tag), _local(elem.tag)
                if ns == GPP_REGISTRY_NS and local == "Registry":
                    props = _child(elem, "Properties")
                    if props is None:
                        continue
                    rtype = reg_type(props.get("type"))
                    entry = {
                        "kind": "preference",
                        "key": reg_key(props.get("hive"), props.get("key")),
                        "value_name": props.get("name") or "",
                        "type": rtype,
                        "value": _gpp_value(rtype, props.get("value")),
                        "action": {"C": "create", "R": "replace", "U": "update", "D": "delete"}.get(
                            (props.get("action") or "U").upper(), props.get("action")
                        ),
                        "item_name": elem.get("name"),
                    }
                elif ns == REGISTRY_NS and local == "RegistrySetting":
                    value = _child(elem, "Value")
                    number = _text(value, "Number") if value is not None else None
                    entry = {
                        "kind": "policy",
                        "key": reg_key("HKLM", _text(elem, "KeyPath")),
                        "value_name": (_text(value, "Name") if value is not None else None) or "",
                        "type": "REG_DWORD" if number is not None else "REG_SZ",
                        "value": as_int(number)
                        if number is not None
                        else (_text(value, "String") if value is not None else None),
                    }
                elif ns == REGISTRY_NS and local == "Policy":
                    entry = {
                        "kind": "admx",
                        "policy": _text(elem, "Name"),
                        "state": _text(elem, "State"),
                        "category": _text(elem, "Category"),
                    }
                else:
                    continue
                gpo_id, precedence = _gpo_reference(elem, parents)
                entry.update({"gpo_id": gpo_id, "gpo": names.get(gpo_id) if gpo_id else None, "precedence": precedence})
                settings.append(entry)
    out["settings"] = settings
    return out


def _rank(setting: dict) -> int:
    prec = setting.get("precedence")
    return prec if isinstance(prec, int) and prec > 0 else 1_000_000


def winning_setting(parsed: dict, key: str, value_name: str) -> dict | None:
    """The setting that decided a registry value, or None when no GPO sets it.

    Within one extension the lowest ``precedence`` wins. Across extensions, Group Policy Preferences
    run after the Registry (Administrative Templates) extension and so overwrite it.
    """
    found = [
        s
        for s in parsed.get("settings") or []
        if s["kind"] in ("preference", "policy") and same_value(s["key"], s["value_name"], key, value_name)
    ]
    if not found:
        return None
    prefs = sorted((s for s in found if s["kind"] == "preference"), key=_rank)
    if prefs:
        return prefs[0]
    return sorted(found, key=_rank)[0]


def applied_gpo_names(parsed: dict) -> list[str]:
    """Names of the GPOs Windows applied, in the order it applied them (the last one wins)."""
    applied = [g for g in parsed.get("gpos") or [] if g["applied"]]
    return [g["name"] for g in sorted(applied, key=lambda g: g["applied_order"])]


def not_applied_gpos(parsed: dict) -> list[dict]:
    return [
        {"name": g["name"], "id": g["id"], "reason": g["not_applied_reason"]}
        for g in parsed.get("gpos") or []
        if not g["applied"] and g["id"] != "LocalGPO"
    ]


def defender_turned_off_by(parsed: dict) -> list[str]:
    """Names of the applied GPOs that set DisableAntiSpyware = 1 (as a value or as the ADMX policy)."""
    out = []
    for s in parsed.get("settings") or []:
        if s["kind"] == "admx":
            hit = (s.get("policy") or "").strip().lower() in TURN_OFF_DEFENDER_POLICY_NAMES and (
                s.get("state") or ""
            ).lower() == "enabled"
        else:
            hit = (
                same_value(s["key"], s["value_name"], *ANTISPYWARE_ITEM)
                and as_int(s.get("value")) == 1
                and s.get("action") != "delete"
            )
        if hit and (s.get("precedence") in (None, 1)):
            name = s.get("gpo") or s.get("gpo_id") or "an unknown GPO"
            if name not in out:
                out.append(name)
    return out


# ---------------------------------------------------------------------------- did the value arrive?

REFRESH_CHECK_MODE_MSG = (
    "check mode: gpupdate was not run; the values are what the host has now (from its last policy processing)"
)


def refresh_verdict(
    raw: dict, expected_value: int, expected_gpo: str | None, check_mode: bool, host: str = "the host"
) -> tuple[dict, str | None, list[str]]:
    """Interpret win_mde_policy_refresh.ps1's answer: ``(result, failure message or None, warnings)``.

    The value arrived when ForceDefenderPassiveMode equals ``expected_value`` and, when
    ``expected_gpo`` is given and the RSOP report can tell, that GPO is the one that set it.
    A reboot is required when the refresh changed the value on a host that is already onboarded:
    Defender reads the value at boot (docs/sources.md §1.2). Check mode never fails for a value that has
    not arrived: gpupdate did not run.
    """
    registry = raw.get("registry") or {}
    registry_before = raw.get("registry_before") or {}
    value = as_int(registry.get("force_defender_passive_mode"))
    value_before = as_int(registry_before.get("force_defender_passive_mode"))
    warnings: list[str] = []
    parsed = None
    rsop_error = raw.get("gpresult_error")
    if raw.get("gpresult_xml"):
        try:
            parsed = parse_gpresult(raw["gpresult_xml"])
        except GpresultError as exc:
            rsop_error = str(exc)
    if parsed is None:
        warnings.append(
            "the RSOP report (gpresult /scope computer /x) could not be read (%s): which GPO set "
            "ForceDefenderPassiveMode is unknown" % (rsop_error or "no report")
        )
    source = winning_setting(parsed, *PASSIVE_ITEM) if parsed else None
    source_gpo = source.get("gpo") if source else None
    onboarded = as_int(registry.get("onboarding_state")) == 1
    turned_off_by = defender_turned_off_by(parsed) if parsed else []
    result: dict = {
        "changed": bool(raw.get("changed")) and not check_mode,
        "refreshed": bool(raw.get("refreshed")),
        "value": value,
        "value_before": value_before,
        "expected_value": expected_value,
        "arrived": value == expected_value,
        "source_gpo": source_gpo,
        "source": ({k: source.get(k) for k in ("gpo", "gpo_id", "kind", "precedence", "action")} if source else None),
        "applied_gpos": applied_gpo_names(parsed) if parsed else [],
        "not_applied_gpos": not_applied_gpos(parsed) if parsed else [],
        "som": (parsed.get("computer") or {}).get("som") if parsed else None,
        "defender_turned_off_by": turned_off_by,
        "guide_force_passive_mode": as_int(registry.get("guide_force_passive_mode")),
        "disable_antispyware": as_int(registry.get("disable_antispyware")),
        "onboarded": onboarded,
        "reboot_required": onboarded and value is not None and value != value_before,
        "gpupdate": raw.get("gpupdate"),
        "rsop_error": rsop_error if parsed is None else None,
    }
    if turned_off_by:
        warnings.append(
            "GPO %s sets 'Turn off Microsoft Defender Antivirus' (DisableAntiSpyware = 1) on %s: it is "
            "not a passive-mode setting and Microsoft says to make sure it is disabled; exclude onboarded "
            "devices from it." % (", ".join(repr(n) for n in turned_off_by), host)
        )
    wrong_source = (
        bool(expected_gpo)
        and parsed is not None
        and result["arrived"]
        and (source_gpo or "").lower() != str(expected_gpo).lower()
    )
    if expected_gpo and parsed is None and result["arrived"]:
        warnings.append(
            "ForceDefenderPassiveMode = %s arrived, but without the RSOP report it cannot be shown to "
            "come from GPO %r" % (value, expected_gpo)
        )
    if check_mode:
        result["msg"] = REFRESH_CHECK_MODE_MSG
        return result, None, warnings
    if result["arrived"] and not wrong_source:
        return result, None, warnings
    return result, _not_applied_message(result, expected_gpo, wrong_source, host), warnings


def _not_applied_message(result: dict, expected_gpo: str | None, wrong_source: bool, host: str) -> str:
    where = " (computer in %s)" % result["som"] if result.get("som") else ""
    if wrong_source:
        found = ("from GPO %r" % result["source_gpo"]) if result["source_gpo"] else "from no GPO (set locally)"
        head = "ForceDefenderPassiveMode = %s is on %s%s, but %s, not from GPO %r." % (
            result["value"],
            host,
            where,
            found,
            expected_gpo,
        )
    else:
        head = "ForceDefenderPassiveMode is %s on %s%s after gpupdate /target:computer /force; expected %s." % (
            "not set" if result["value"] is None else result["value"],
            host,
            where,
            result["expected_value"],
        )
    applied = ", ".join(repr(n) for n in result["applied_gpos"]) or "none"
    parts = [head, "GPOs applied: %s." % applied]
    if result["not_applied_gpos"]:
        parts.append(
            "Not applied: %s." % ", ".join("%r (%s)" % (g["name"], g["reason"]) for g in result["not_applied_gpos"])
        )
    parts.append(
        "Check that the GPO is linked (and the link enabled) to the computer's OU or a parent OU, that its "
        "security filtering includes the computer, and read 'gpresult /scope computer /r' on the host."
    )
    return " ".join(parts)
