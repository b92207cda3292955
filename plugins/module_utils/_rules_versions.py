# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Version helpers and the Defender platform versions the rules depend on. PRIVATE to this collection."""

from __future__ import annotations

#: docs/sources.md §8: from this Defender platform on, tamper protection keeps an onboarded server
#: active once it went active, even with ForceDefenderPassiveMode = 1.
TAMPER_LOCK_FROM = (4, 18, 2208, 0)
#: docs/sources.md §5.1: DisableAntiSpyware is ignored on clients from this platform version on.
CLIENT_DISABLE_ANTISPYWARE_IGNORED_FROM = (4, 18, 2007, 8)


def version_tuple(text: object) -> tuple:
    """``"4.18.24090.11"`` -> ``(4, 18, 24090, 11)``; junk parts count as 0."""
    parts = []
    for piece in str(text or "0").split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)
