# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Version helpers. PRIVATE to this collection."""

from __future__ import annotations


def version_tuple(text: object) -> tuple:
    """``"4.18.24090.11"`` -> ``(4, 18, 24090, 11)``; junk parts count as 0."""
    parts = []
    for piece in str(text or "0").split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)
