# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows Security Center ``AntiVirusProduct.productState`` decoding. PRIVATE.

Microsoft does not document the bit layout of ``productState`` (docs/sources.md §4 marks it
UNCONFIRMED). The community decoding of the 24-bit value ``0xPPSSDD`` is used:

* ``0xFF0000`` provider (``0x04`` antivirus, ``0x06`` = 0x04 | 0x02 also seen for Defender),
* ``0x00F000`` product state: ``0x1000`` on, ``0x0000`` off, ``0x2000`` snoozed,
  ``0x3000`` expired (matches ``WSC_SECURITY_PRODUCT_STATE`` shifted),
* ``0x000F00`` owner: ``0x100`` Microsoft/Windows, ``0x000`` third party,
* ``0x0000F0`` signatures: ``0x00`` up to date, ``0x10`` out of date.

Because the layout is not documented, the decoder is conservative: a product counts as
providing real-time protection only when its state decodes to ``on``; anything it cannot
read decodes to ``unknown``, which the diagnosis treats as *not* protecting.
"""

from __future__ import annotations

from typing import Any

_STATES = {0x0: "off", 0x1: "on", 0x2: "snoozed", 0x3: "expired"}

MICROSOFT_NAME_HINTS = ("windows defender", "microsoft defender", "microsoft security essentials")


def _undecodable(raw: Any) -> dict:
    """The decoding of a value that is not a 24-bit productState: unknown, and not protecting."""
    return {
        "raw": raw,
        "hex": None,
        "state": "unknown",
        "enabled": False,
        "real_time": False,
        "up_to_date": None,
        "owner": "unknown",
    }


def decode_product_state(value: Any) -> dict:
    """Decode a productState value (int or numeric string).

    Returns ``{"raw", "hex", "state", "enabled", "real_time", "up_to_date", "owner"}``.
    """
    try:
        raw = int(str(value).strip(), 0) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        return _undecodable(value)
    if raw < 0 or raw > 0xFFFFFF:
        return _undecodable(raw)
    state = _STATES.get((raw >> 12) & 0xF, "unknown")
    owner = "microsoft" if (raw >> 8) & 0xF == 0x1 else "third_party"
    up_to_date = (raw >> 4) & 0xF == 0x0
    return {
        "raw": raw,
        "hex": "0x%06X" % raw,
        "state": state,
        "enabled": state == "on",
        "real_time": state == "on",
        "up_to_date": up_to_date,
        "owner": owner,
    }


def is_microsoft_product(display_name: str, decoded_owner: str = "unknown") -> bool:
    """Defender registers itself in WSC too; it must never count as the third-party AV."""
    name = (display_name or "").lower()
    if any(hint in name for hint in MICROSOFT_NAME_HINTS):
        return True
    return decoded_owner == "microsoft"
