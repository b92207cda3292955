# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mdeops.defender.win_mde_detection_test: run Microsoft's detection test once."""

from __future__ import annotations

import datetime
import re

from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError
from ansible_collections.mdeops.defender.plugins.plugin_utils._action import MdeActionBase

_WINDOWS_PATH = re.compile(r"^[A-Za-z]:\\[^<>:\"/|?*\r\n']*$")


def parse_ran_at(value: object) -> tuple[str | None, float | None]:
    """``(ISO 8601 UTC with Z, epoch)`` from PowerShell's round-trip ('o') UTC time."""
    if not value:
        return None, None
    text = str(value).strip()
    m = re.match(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?$", text)
    if not m:
        raise MdeError("host_error", "win_mde_detection_test: the host returned an unreadable time %r" % text)
    fraction = (m.group(2) or "0")[:6].ljust(6, "0")
    when = datetime.datetime.fromisoformat(
        "%s.%s%s" % (m.group(1), fraction, (m.group(3) or "Z").replace("Z", "+00:00"))
    )
    when = when.astimezone(datetime.timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + (m.group(2) or "0").ljust(7, "0")[:7] + "Z", when.timestamp()


class ActionModule(MdeActionBase):
    MODULE = "win_mde_detection_test"

    def run_module(self, args: dict, task_vars: dict) -> dict:
        directory = args["directory"].rstrip("\\") or args["directory"]
        if not _WINDOWS_PATH.match(directory) or len(directory) < 4:
            raise MdeError(
                "invalid_argument",
                "directory must be an absolute local path such as C:\\test-MDATP-test "
                "(no quotes), got %r" % args["directory"],
            )
        if args["stop_after"] < 0:
            raise MdeError("invalid_argument", "stop_after must be 0 or more seconds, got %d" % args["stop_after"])
        raw = self._run_ps({"directory": directory, "stop_after": args["stop_after"]}, task_vars)
        ran_at, epoch = parse_ran_at(raw.get("ran_at_utc"))
        onboarded = raw.get("onboarding_state") == 1 and str(raw.get("sense_status") or "").lower() == "running"
        result = {
            "changed": True,
            "ran": bool(raw.get("ran")),
            "ran_at": ran_at,
            "ran_at_epoch": epoch,
            "command_line": raw.get("command_line"),
            "process_id": raw.get("process_id"),
            "directory_created": bool(raw.get("directory_created")),
            "process_stopped": bool(raw.get("process_stopped")),
            "directory_removed": bool(raw.get("directory_removed")),
            "onboarded": onboarded,
            "onboarding_state": raw.get("onboarding_state"),
            "sense_status": raw.get("sense_status"),
        }
        if not onboarded:
            result["warnings"] = [
                *(raw.get("warnings") or []),
                "The host does not look onboarded (OnboardingState %s, Sense %s): Defender for Endpoint will raise no "
                "alert for this test. Onboard it first (mdeops.defender.win_mde_onboarding)."
                % (raw.get("onboarding_state"), raw.get("sense_status") or "missing"),
            ]
        return result
