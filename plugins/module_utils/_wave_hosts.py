# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-host verdicts of the API modules that answer for a whole wave. PRIVATE to this collection.

The roles ask the Defender API once per wave, with ``hosts: {inventory name: device name}``. The
answer carries ``hosts: {inventory name: {step, reason, detail, device_name}}``: each host's own
verdict. A name that cannot be a device name (empty, control characters, longer than a DNS name)
fails that host only; Windows allows non-ASCII computer names (``KÜCHE-PC``), which are kept.
"""

from __future__ import annotations

from typing import Any

STEP = "confirm_edr"
_FORBIDDEN = set('"\\/*?<>|,;')


def usable_name(name: Any) -> str | None:
    """The device name lower-cased, or ``None`` when it cannot be one."""
    if not isinstance(name, str):
        return None
    value = name.strip().rstrip(".").lower()
    if not value or len(value) > 255:
        return None
    if any(ord(ch) < 32 or ch.isspace() or ch in _FORBIDDEN for ch in value):
        return None
    if any(not label or len(label) > 63 for label in value.split(".")):
        return None
    return value


def verdict(reason: str | None, detail: str, device_name: str | None = None, **extra: Any) -> dict:
    return dict(step=STEP, reason=reason, detail=detail, device_name=device_name, **extra)


def split_hosts(hosts: dict) -> tuple[dict[str, str], dict[str, dict]]:
    """``({inventory name: device name}, {inventory name: verdict})``: the usable names and the
    verdicts of the hosts whose name is not usable."""
    usable: dict[str, str] = {}
    refused: dict[str, dict] = {}
    for host, name in (hosts or {}).items():
        device = usable_name(name)
        if device is None:
            refused[str(host)] = verdict(
                "invalid_argument",
                "%r cannot be a device name (empty, control characters or longer than a DNS name); this host's "
                "EDR state cannot be looked up" % (name,),
            )
        else:
            usable[str(host)] = device
    return usable, refused


def unique(devices: dict[str, str]) -> list[str]:
    return list(dict.fromkeys(devices.values()))


__all__ = ["STEP", "split_hosts", "unique", "usable_name", "verdict"]
