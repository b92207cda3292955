# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which Windows versions support Defender for Endpoint passive mode. PRIVATE.

Two policies are available:

``microsoft`` (default)
    Microsoft's documentation (docs/sources.md §1.4): Windows 10 and 11 (supported editions, not
    Home), Windows Server 2012 R2 and 2016 *with the modern unified solution*, Windows
    Server 1803 or later, 2019, 2022, 2025. Hyper-V Server is not supported.
``guide``
    The source guide's narrower list: Windows 10 1703 (build 15063) or later and Windows 11.
    Windows Server is outside the guide's list. Kept for users who follow the guide.
"""

from __future__ import annotations

from typing import Any

POLICIES = ("microsoft", "guide")

GUIDE_MIN_WIN10_BUILD = 15063  # Windows 10 1703, the guide's minimum (not a Microsoft statement)
SERVER_1803_BUILD = 17134

# build: (name for people, family)
_SERVER_NAMES = {
    7601: "Windows Server 2008 R2",
    9200: "Windows Server 2012",
    9600: "Windows Server 2012 R2",
    14393: "Windows Server 2016",
    17763: "Windows Server 2019",
    20348: "Windows Server 2022",
    26100: "Windows Server 2025",
}
_UNSUPPORTED_CLIENT_BUILDS = {7601: "Windows 7", 9200: "Windows 8", 9600: "Windows 8.1"}

# Editions (EditionID / OperatingSystemSKU names) outside MDE's supported list (§1.4).
_UNSUPPORTED_EDITIONS = ("core", "coren", "corecountryspecific", "coresinglelanguage", "home")


def _build(value: Any) -> int:
    try:
        return int(str(value).rsplit(".", maxsplit=1)[-1]) if "." in str(value) else int(value)
    except (TypeError, ValueError):
        return 0


def classify(os_info: dict, policy: str = "microsoft", unified_agent: bool = False) -> dict:
    """Classify a host's Windows for passive-mode support.

    ``os_info`` has ``caption``, ``build`` (or ``version``), ``product_type`` (1 workstation,
    2 domain controller, 3 server) and optionally ``edition``.

    Returns ``{"supported", "family", "name", "passive_automatic", "needs_force_passive",
    "needs_unified_agent", "reason", "detail"}``; ``reason`` is None when supported.
    """
    if policy not in POLICIES:
        raise ValueError("support policy must be one of %s, got %r" % (", ".join(POLICIES), policy))
    build = _build(os_info.get("build") or os_info.get("version"))
    product_type = int(os_info.get("product_type") or 1)
    caption = str(os_info.get("caption") or "")
    edition = str(os_info.get("edition") or "").lower()
    server = product_type in (2, 3)
    result = {
        "supported": True,
        "family": "server" if server else "client",
        "name": caption or ("Windows build %d" % build),
        "build": build,
        "passive_automatic": not server,
        "needs_force_passive": server,
        "needs_unified_agent": False,
        "reason": None,
        "detail": "",
    }

    def unsupported(detail: str, reason: str = "unsupported_os") -> dict:
        result.update(supported=False, reason=reason, detail=detail)
        return result

    if build == 0:
        return unsupported("the Windows build could not be read")
    if server:
        name = _SERVER_NAMES.get(build, "Windows Server build %d" % build)
        result["name"] = caption or name
        if "hyper-v" in caption.lower() or "hypercore" in edition:
            return unsupported("%s is not supported by Defender for Endpoint" % result["name"])
        if policy == "guide":
            return unsupported("the guide lists only Windows 10 1703+ and Windows 11; %s is a server" % result["name"])
        if build < 9600:
            return unsupported("%s is older than Windows Server 2012 R2" % result["name"])
        if build in (9600, 14393):
            result["needs_unified_agent"] = True
            if not unified_agent:
                result.update(
                    supported=False,
                    reason="unified_agent_required",
                    detail="%s supports passive mode only with the modern unified solution (md4ws.msi)"
                    % result["name"],
                )
            return result
        if build < SERVER_1803_BUILD:
            return unsupported("Windows Server builds before 1803 (other than 2016) are not supported")
        return result
    # clients
    if build < 10240:
        return unsupported(
            "%s is not supported by Defender for Endpoint passive mode"
            % _UNSUPPORTED_CLIENT_BUILDS.get(build, caption or "this Windows")
        )
    if edition in _UNSUPPORTED_EDITIONS or " home" in caption.lower():
        return unsupported("Home editions are not supported by Defender for Endpoint")
    result["name"] = caption or ("Windows 11" if build >= 22000 else "Windows 10")
    if policy == "guide" and build < GUIDE_MIN_WIN10_BUILD:
        return unsupported("the guide requires Windows 10 1703 (build 15063) or later; this is build %d" % build)
    return result
