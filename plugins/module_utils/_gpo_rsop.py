# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsing ``gpresult /scope computer /x`` (the RSOP report). PRIVATE: may change in any release.

Which GPOs applied, which did not and why, and which GPO set a registry value
(:func:`parse_gpresult`, :func:`winning_setting`, :func:`defender_turned_off_by`).
Facts: docs/sources.md §5.3 (verification with gpupdate and gpresult).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from ._gpo_dn import gpo_guid
from ._registry import ANTISPYWARE_ITEM, as_int, reg_key, reg_type, same_value

__all__ = [
    "TURN_OFF_DEFENDER_POLICY_NAMES",
    "GpresultError",
    "applied_gpo_names",
    "defender_turned_off_by",
    "not_applied_gpos",
    "parse_gpresult",
    "winning_setting",
]

#: The Administrative Templates names the RSOP report uses for DisableAntiSpyware = 1, across
#: the renamings of Defender (Windows Defender -> Windows Defender Antivirus -> Microsoft Defender Antivirus).
TURN_OFF_DEFENDER_POLICY_NAMES = (
    "turn off microsoft defender antivirus",
    "turn off windows defender antivirus",
    "turn off windows defender",
)

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
            return (gpo_guid(ident) if ident else None), (int(prec) if prec and prec.isdigit() else None)
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
    links: list[dict[str, Any]] = []
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
        "id": gpo_guid(ident) if ident and ident.startswith("{") else ident,
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
    found: list[dict] = [
        s
        for s in parsed.get("settings") or []
        if s["kind"] in ("preference", "policy") and same_value(s["key"], s["value_name"], key, value_name)
    ]
    if not found:
        return None
    prefs: list[dict] = sorted((s for s in found if s["kind"] == "preference"), key=_rank)
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
