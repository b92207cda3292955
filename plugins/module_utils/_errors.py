# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed errors. PRIVATE to this collection.

Library code raises these; only an action plugin's ``run()`` or a module's ``main()``
turns them into a failed result (``msg`` + ``reason`` + structured extras).
"""

from __future__ import annotations

from ._reasons import REASONS, family_of, remediation_of


class MdeError(Exception):
    """A failure with a stable reason code and a message that names the problem and the fix."""

    def __init__(self, reason: str, msg: str, **extra: object) -> None:
        if reason not in REASONS:
            raise ValueError("unknown reason code %r" % reason)
        super().__init__(msg)
        self.reason = reason
        self.msg = msg
        self.extra = extra

    def to_result(self) -> dict:
        result = {
            "failed": True,
            "msg": self.msg,
            "reason": self.reason,
            "family": family_of(self.reason),
            "remediation": remediation_of(self.reason),
        }
        result.update(self.extra)
        return result
