# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Normalising Defender's running mode. PRIVATE to this collection.

``Get-MpComputerStatus`` reports ``AMRunningMode`` with several spellings across Windows
builds and Microsoft pages (``Normal``, ``Passive``, ``Passive Mode``, ``SxS Passive Mode``,
``EDR Block Mode``, and ``Not running`` seen in the field for the disabled state). The
collection works with one normalised value:

========== ============================================================
value      meaning
========== ============================================================
passive    Defender runs but another AV is primary (needs onboarding)
edr_block  passive with EDR in block mode turned on
sxs_passive limited periodic scanning beside another AV (not passive mode)
active     Defender is the primary AV
disabled   Defender does not scan
not_installed  no Defender status available on the host
unknown    a value this collection does not recognise
========== ============================================================
"""

from __future__ import annotations

import re

MODES = ("passive", "edr_block", "sxs_passive", "active", "disabled", "not_installed", "unknown")

# The modes in which the passive-mode goal is met (a third-party AV is primary).
PASSIVE_GOAL_MODES = ("passive", "edr_block")

_SPELLINGS = {
    "normal": "active",
    "active": "active",
    "active mode": "active",
    "passive": "passive",
    "passive mode": "passive",
    "passivemode": "passive",
    "edr block mode": "edr_block",
    "edr block": "edr_block",
    "edrblockmode": "edr_block",
    "edr blocked": "edr_block",
    "edrblocked": "edr_block",
    "sxs passive mode": "sxs_passive",
    "sxs passive": "sxs_passive",
    "sxspassivemode": "sxs_passive",
    "limited periodic scanning": "sxs_passive",
    "not running": "disabled",
    "disabled": "disabled",
    "off": "disabled",
    "not installed": "not_installed",
}

# avMode of the Defender device AV health API (docs/sources.md §7.6): a string-typed integer.
_AV_MODE_API = {
    "0": "active",
    "1": "passive",
    "2": "disabled",
    "3": "unknown",
    "4": "edr_block",
    "5": "passive",  # PassiveAudit
    "": "unknown",
}


def normalize_running_mode(value: object) -> str:
    """Map an ``AMRunningMode`` value to one of :data:`MODES` (case and spacing insensitive).

    ``None`` (no status could be read) maps to ``not_installed``.
    """
    if value is None:
        return "not_installed"
    text = re.sub(r"[\s_\-]+", " ", str(value)).strip().lower()
    if not text:
        return "unknown"
    if text in _SPELLINGS:
        return _SPELLINGS[text]
    squashed = text.replace(" ", "")
    for spelling, mode in _SPELLINGS.items():
        if spelling.replace(" ", "") == squashed:
            return mode
    return "unknown"


def normalize_api_av_mode(value: object) -> str:
    """Map the API's ``avMode`` (string-typed integer, or a name) to one of :data:`MODES`."""
    if value is None:
        return "unknown"
    text = str(value).strip()
    if text in _AV_MODE_API:
        return _AV_MODE_API[text]
    names = {
        "active": "active",
        "passive": "passive",
        "disabled": "disabled",
        "other": "unknown",
        "edrblocked": "edr_block",
        "passiveaudit": "passive",
    }
    return names.get(text.lower().replace(" ", ""), "unknown")


def is_passive_goal(mode: str) -> bool:
    return mode in PASSIVE_GOAL_MODES
