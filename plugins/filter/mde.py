# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the collection: reason codes, the rollout waves, the wave's device names, the wave's
Group Policy computers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.mdeops.defender.plugins.module_utils._preflight import PreflightError, parse_waves
from ansible_collections.mdeops.defender.plugins.module_utils._reasons import REASONS, family_of, remediation_of

PROGRESS_FACT = "mde_report_host"


def reason_info(reason: str) -> dict:
    """``{"reason", "family", "remediation"}`` of a reason code (unknown codes say so)."""
    if reason not in REASONS:
        return {"reason": reason, "family": "unknown", "remediation": "See the message."}
    return {"reason": reason, "family": family_of(reason), "remediation": remediation_of(reason)}


def waves(value: Any) -> list:
    """The rollout waves as Ansible's ``serial`` takes them, validated (None: the default waves)."""
    try:
        return parse_waves(value)
    except PreflightError as exc:
        raise AnsibleFilterError("mdeops.defender.waves: %s" % "; ".join(exc.problems)) from exc


def _progress(hostvars: Mapping, host: str) -> dict:
    try:
        facts = hostvars[host].get("ansible_facts") or {}
    except (KeyError, AttributeError, TypeError):
        return {}
    record = facts.get(PROGRESS_FACT) if isinstance(facts, Mapping) else None
    return dict(record) if isinstance(record, Mapping) else {}


def device_names(hosts: Iterable[str], hostvars: Mapping) -> dict:
    """``{inventory host: name the Defender portal knows the device by}`` for the hosts that have one.

    The name is the one the host reported at assessment (its DNS host name and domain, lower-case),
    recorded by fleet_progress. A host without a usable name is left out: the API modules answer
    for the hosts they are given, so that host's verdict is its own and the others are unaffected.
    """
    out = {}
    for host in hosts or []:
        name = _progress(hostvars, str(host)).get("device_name")
        if isinstance(name, str) and name:
            out[str(host)] = name
    return out


def gpo_members(hosts: Iterable[str], hostvars: Mapping, assessment: str = "__mde_rollout_assess") -> list:
    """The computer names of the hosts whose rollout plan has the Group Policy step.

    The plan (``assessment``: the registered result of the assessment) has the step only for hosts that
    passed the antivirus check, so only they join the GPO's computer group. The name is the one the host
    reported (its DNS host name), never the inventory name, which may be an address.
    """
    out = []
    for host in hosts or []:
        try:
            assess = hostvars[str(host)].get(assessment) or {}
        except (KeyError, AttributeError, TypeError):
            continue
        if not isinstance(assess, Mapping):
            continue
        plan = assess.get("plan") or {}
        name = assess.get("hostname")
        if "group_policy" in (plan.get("steps") or []) and isinstance(name, str) and name:
            out.append(name)
    return sorted(set(out))


class FilterModule:
    def filters(self):
        return {"reason_info": reason_info, "waves": waves, "device_names": device_names, "gpo_members": gpo_members}
