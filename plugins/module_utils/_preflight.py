# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pre-flight checks of the roles' inputs, on the controller, before any host is touched. PRIVATE.

Pure functions; the ``preflight`` action plugin feeds them the role's variables (templated),
its argument spec and the files on the controller. Every error names the variable the user set
and the fix.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

#: Prefixes of the collection's own variables: an unknown name with one of them is a typo.
ROLE_PREFIXES = {"mde_rollout": "mde_rollout_", "mde_verify": "mde_verify_", "mde_offboard": "mde_offboard_"}
#: The playbooks' own variables (not role variables), and what they are.
PLAYBOOK_VARS = {
    "mde_targets": "the host pattern the playbooks run against",
    "mde_waves": "the rollout waves (serial)",
    "mde_max_fail_percentage": "the share of failed hosts in a wave that stops the rollout",
    "mde_report_dir": "where the fleet report is written",
    "mde_report_name": "the base name of the fleet report files",
    "mde_report_goal": "what the fleet report judges",
    "mde_report_host": "the per-host progress record (written by the roles)",
}
#: One canary host, then Microsoft's rings (docs/sources.md §3.8): an evaluation ring of 50 hosts, a pilot ring of
#: 100, then the rest in larger increments (30 % of the fleet, then all that is left). Absolute sizes first: a
#: percentage of a large fleet is a pilot of thousands, a percentage of a small one a wave of a few hosts.
DEFAULT_WAVES: list[int | str] = [1, 50, 100, "30%", "100%"]

_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_INT = re.compile(r"^\s*([+-]?\d+)\s*$")


class PreflightError(ValueError):
    """One or more inputs are wrong; ``problems`` lists every one (message names the variable)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


# ---------------------------------------------------------------------------- names
def unknown_variables(role: str, known: Iterable[str], names: Iterable[str]) -> list[str]:
    """Problems for variables that look like the role's (or the playbooks') but are not defined by it.

    A typo in an optional variable silently changes what a run does (an audit without the org id
    check, say): such names are errors, with the closest known name as the fix. Private names
    (``__`` anywhere after the prefix) are the roles' own and are skipped.
    """
    prefix = ROLE_PREFIXES[role]
    known_set = set(known) | set(PLAYBOOK_VARS)
    candidates = sorted(known_set)
    problems = []
    for name in sorted(set(names)):
        if name in known_set or "__" in name:
            continue
        if name.startswith(prefix):
            close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
        elif name.startswith("mde_") and not any(name.startswith(p) for p in ROLE_PREFIXES.values()):
            close = difflib.get_close_matches(name, list(PLAYBOOK_VARS), n=1, cutoff=0.85)
            if not close:
                continue  # a variable of the user's own that happens to start with mde_
        else:
            continue  # not ours, or another role's (that role checks it)
        hint = " Did you mean %s?" % close[0] if close else " It is not one of this role's variables."
        problems.append("%s is set but %s has no such variable.%s" % (name, role, hint))
    return problems


# ---------------------------------------------------------------------------- types
def strict_types(options: Mapping[str, dict], values: Mapping[str, Any]) -> list[str]:
    """Problems Ansible's argument validation would convert silently instead of refusing.

    A dict variable given as a string (``-e var='{"a": 1}'`` is a string, not a dict) is refused:
    the roles use the variable as given, after validation, and a string there fails later, in the
    middle of a wave. The message never quotes the string: such a dictionary may hold a secret (the API
    modules' ``client_secret`` in ``mde_rollout_api_options``), and the message goes to the output and
    the reports.
    """
    problems = []
    for name, spec in options.items():
        if name not in values:
            continue
        value = values[name]
        if spec.get("type") == "dict" and isinstance(value, str):
            problems.append(
                "%s is a string of %d characters, not a dictionary (its text is not shown: it may hold a secret). "
                "On the command line give it as JSON for the whole variable: -e '{\"%s\": {...}}', or put it in a "
                "vars file (-e @vars.yml)." % (name, len(value), name)
            )
    return problems


# ---------------------------------------------------------------------------- waves
def parse_waves(value: Any, name: str = "mde_waves") -> list[int | str]:
    """Validate the rollout waves (Ansible ``serial``) and return them as a list.

    Each wave is a positive host count or a percentage above 0 and at most 100. A string is a
    comma-separated list (AWX survey answers are strings). ``None`` means the default waves.
    """
    if value is None:
        return list(DEFAULT_WAVES)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        items: list[Any] = [value]
    elif isinstance(value, str):
        if not value.strip():
            raise PreflightError(["%s is empty: give waves such as 1,50,100,30%%,100%% (or leave it unset)" % name])
        items = [part.strip() for part in value.split(",")]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise PreflightError(["%s must be a list of wave sizes, got %s" % (name, type(value).__name__)])
    if not items:
        raise PreflightError(["%s is an empty list: give at least one wave, e.g. [1, '10%%', '100%%']" % name])
    problems = []
    waves: list[int | str] = []
    for index, item in enumerate(items, start=1):
        wave, problem = _wave(item)
        if problem:
            problems.append("%s wave %d (%r): %s" % (name, index, item, problem))
        else:
            waves.append(wave)
    if problems:
        raise PreflightError([*problems, "Waves are host counts (1 or more) or percentages (above 0%, at most 100%)."])
    return waves


def _wave(item: Any) -> tuple[int | str, str | None]:
    if isinstance(item, bool):
        return 0, "a boolean is not a wave size"
    if isinstance(item, int):
        return (item, None) if item >= 1 else (0, "a host count must be 1 or more")
    if isinstance(item, float):
        return 0, "a host count must be a whole number"
    text = str(item)
    match = _PERCENT.match(text)
    if match:
        percent = float(match.group(1))
        if not 0 < percent <= 100:
            return 0, "a percentage must be above 0% and at most 100%"
        if not percent.is_integer():
            # Ansible's serial takes whole percentages only (a fraction stops the play with a traceback)
            return 0, "a percentage must be a whole number, such as 12%"
        return ("%d%%" % percent), None
    match = _INT.match(text)
    if match:
        return _wave(int(match.group(1)))
    return 0, "not a host count or a percentage"


def parse_percentage(value: Any, name: str = "mde_max_fail_percentage", default: int = 10) -> int:
    """A failure threshold in percent, 0 to 100 (``None``: the default)."""
    if value is None:
        return default
    if isinstance(value, bool):
        raise PreflightError(["%s must be a number from 0 to 100, got a boolean" % name])
    try:
        number = float(str(value).strip().rstrip("%"))
    except ValueError:
        raise PreflightError(["%s must be a number from 0 to 100, got %r" % (name, value)]) from None
    if not 0 <= number <= 100 or number != int(number):
        raise PreflightError(["%s must be a whole number from 0 to 100, got %r" % (name, value)])
    return int(number)


# ---------------------------------------------------------------------------- paths
def resolve_path(path: str, search_dirs: Iterable[str]) -> tuple[str | None, list[str]]:
    """Where a controller path is: as given when absolute, else under each search dir in order.

    Returns ``(found or None, every place looked at)``; the places go into the error message.
    """
    expanded = os.path.expanduser(path)
    if os.path.isabs(expanded):
        return (expanded if os.path.exists(expanded) else None), [expanded]
    searched = []
    for directory in search_dirs:
        if not directory:
            continue
        candidate = os.path.normpath(os.path.join(directory, expanded))
        if candidate in searched:
            continue
        searched.append(candidate)
        if os.path.exists(candidate):
            return candidate, searched
    return None, searched


def not_found(variable: str, path: str, searched: list[str]) -> str:
    return (
        "%s: %s was not found on the controller (looked at: %s). Give an absolute path, or a path relative to "
        "the playbook's directory or to the directory you run ansible-playbook from."
        % (variable, path, ", ".join(searched) or path)
    )


MSI_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def check_installer_file(variable: str, path: str) -> str | None:
    """A problem when the file is not an MSI package (the OLE compound-file signature)."""
    if not os.path.isfile(path):
        return "%s: %s is not a file; give the path of md4ws.msi" % (variable, path)
    with open(path, "rb") as fh:
        head = fh.read(len(MSI_SIGNATURE))
    if head != MSI_SIGNATURE:
        return "%s: %s is not a Windows Installer package (md4ws.msi from the Defender portal)" % (variable, path)
    return None


# ---------------------------------------------------------------------------- the fleet
def fleet_problems(role: str, assessments: Mapping[str, dict], given: Mapping[str, bool]) -> list[str]:
    """Run-level problems that only the assessment shows: inputs some hosts need and that are missing."""
    if role != "mde_rollout":
        return []
    problems = []
    onboard = sorted(h for h, a in assessments.items() if "onboard" in (a["plan"].get("steps") or []))
    if onboard and not (
        given.get("mde_rollout_onboarding_package") or given.get("mde_rollout_onboarding_remote_package")
    ):
        problems.append(
            "%d host(s) need onboarding (%s) and neither mde_rollout_onboarding_package nor "
            "mde_rollout_onboarding_remote_package is set" % (len(onboard), _some(onboard))
        )
    agent = sorted(h for h, a in assessments.items() if a["plan"].get("reason") == "unified_agent_required")
    if agent and not (given.get("mde_rollout_installer") or given.get("mde_rollout_remote_installer")):
        problems.append(
            "%d Windows Server 2012 R2/2016 host(s) need the unified solution md4ws.msi (%s): set "
            "mde_rollout_installer (or mde_rollout_remote_installer), or leave them out of this run with "
            "--limit '!%s'" % (len(agent), _some(agent), ":!".join(agent[:5]))
        )
    return problems


def _some(names: list[str], most: int = 10) -> str:
    return ", ".join(names[:most]) + (" and %d more" % (len(names) - most) if len(names) > most else "")


def machine_identity(assessment: Mapping[str, Any]) -> str | None:
    """What makes two inventory names the same machine: its own id when it reported one, else its
    fully qualified name."""
    computer = assessment.get("computer") or {}
    machine_guid = computer.get("machine_guid") if isinstance(computer, Mapping) else None
    if machine_guid:
        return "guid:" + str(machine_guid).strip("{}").lower()
    host = str(assessment.get("hostname") or "").strip().lower()
    domain = assessment.get("domain") or {}
    if not host:
        return None
    suffix = str(domain.get("name") or "").lower() if domain.get("joined") else ""
    return "name:" + host + ("." + suffix if suffix else "")


def duplicate_hosts(assessments: Mapping[str, dict]) -> dict[str, dict]:
    """Inventory names that reach a machine another name (the first in sorted order) already reaches."""
    seen: dict[str, str] = {}
    refused: dict[str, dict] = {}
    for host in sorted(assessments):
        identity = machine_identity(assessments[host])
        if identity is None:
            continue
        if identity in seen:
            refused[host] = {
                "reason": "duplicate_host",
                "failed": True,
                "detail": "%s reaches the same machine as %s (%s); only %s is rolled out in this run"
                % (host, seen[identity], identity.split(":", 1)[1], seen[identity]),
            }
        else:
            seen[identity] = host
    return refused


def pending_hosts(assessments: Mapping[str, dict], refused: Mapping[str, dict]) -> list[str]:
    """The hosts whose plan has work for the waves (``plan.wave``) and that the run did not refuse, sorted.

    The same rule as the ``rollout_group`` fleet_progress records (``pending`` / ``done``).
    """
    return sorted(
        host
        for host, assessment in assessments.items()
        if (assessment.get("plan") or {}).get("wave") and host not in refused
    )


def wave_sizes(count: int, waves: Iterable[int | str]) -> list[int]:
    """How Ansible's ``serial`` cuts ``count`` hosts into waves (``PlaybookExecutor._get_serialized_batches``
    with ``ansible.utils.helpers.pct_to_int``): a percentage of all the play's hosts, at least one host;
    the last wave repeats until every host has had its wave."""
    sizes: list[int] = []
    items = list(waves) or [count]
    left, index = count, 0
    while left > 0:
        item = items[min(index, len(items) - 1)]
        if isinstance(item, str) and item.endswith("%"):
            size = int((int(item[:-1]) / 100.0) * count) or 1
        else:
            size = int(item)
        size = left if size <= 0 else min(size, left)
        sizes.append(size)
        left -= size
        index += 1
    return sizes


def wave_rank(assessment: Mapping[str, Any]) -> int:
    """Where a host goes within its wave: the longest path through a wave first (0), so that its waits
    on Windows overlap the controller's work on the wave's other hosts. md4ws.msi to install (0), a
    reboot (1), ForceDefenderPassiveMode to write first (2), the rest (3)."""
    plan = assessment.get("plan") or {}
    steps = plan.get("steps") or []
    problems = (assessment.get("diagnosis") or {}).get("problems") or []
    if "onboard" in steps and any(
        isinstance(p, Mapping) and p.get("reason") == "unified_agent_required" for p in problems
    ):
        return 0
    if "reboot" in steps:
        return 1
    if plan.get("passive_value") is not None or "group_policy" in steps:
        return 2
    return 3


def wave_order(hosts: Iterable[str], waves: Iterable[int | str], assessments: Mapping[str, Mapping]) -> list[str]:
    """The play's host order for ``order: inventory``: the waves are the ones ``serial`` cuts from the
    sorted host names (the canary is the same host on every run); within each wave the hosts with the
    longest path come first (``wave_rank``), then by name."""
    ordered = sorted(hosts)
    out: list[str] = []
    start = 0
    for size in wave_sizes(len(ordered), waves):
        wave = ordered[start : start + size]
        out += sorted(wave, key=lambda host: (wave_rank(assessments.get(host) or {}), host))
        start += size
    return out


__all__ = [
    "DEFAULT_WAVES",
    "PLAYBOOK_VARS",
    "ROLE_PREFIXES",
    "PreflightError",
    "check_installer_file",
    "duplicate_hosts",
    "fleet_problems",
    "machine_identity",
    "not_found",
    "parse_percentage",
    "parse_waves",
    "pending_hosts",
    "resolve_path",
    "strict_types",
    "unknown_variables",
    "wave_order",
    "wave_rank",
    "wave_sizes",
]
