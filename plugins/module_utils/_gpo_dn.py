# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Distinguished names and gPLink values for Group Policy (win_mde_gpo). PRIVATE: may change in any release.

The OUs a GPO is linked to are given by the user as distinguished names: they are validated and
normalised here (:func:`normalize_dn`, :func:`normalize_targets`); AD's ``gPLink`` attribute is
parsed into links (:func:`parse_gplink`). Pure functions, no I/O.
"""

from __future__ import annotations

import re
from typing import Any

from ._errors import MdeError

__all__ = ["dn_domain", "dn_key", "gpo_guid", "normalize_dn", "normalize_targets", "parse_gplink"]


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
        out.append({"gpo_id": gpo_guid(guid), "enabled": not value & 1, "enforced": bool(value & 2)})
    return out


def gpo_guid(value: Any) -> str:
    """A GPO id as AD shows it: ``{31b2f340-...}`` / ``31B2F340-...`` -> ``31B2F340-...`` (upper case, no braces)."""
    return str(value or "").strip().strip("{}").upper()
