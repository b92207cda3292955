# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Security filtering of the passive-mode GPO: a computer group and the GPO's permissions. PRIVATE.

The GPO applies to the computers of one security group (``security_group``): the group has
``GpoApply`` (Read + Apply Group Policy), ``Authenticated Users`` keeps ``GpoRead`` only (computers
must still be able to read the GPO; Microsoft's MS16-072 guidance) and so no longer applies it.
Membership is managed additively per wave: ``members`` with ``member_state: present`` are added (the
hosts of earlier waves stay), with ``absent`` removed (offboarding). :func:`plan_security` turns what
win_mde_gpo.ps1 read (``security``) into operations, ``before`` and ``after`` from one computation.
Facts: docs/group-policy.md ("Security filtering").
"""

from __future__ import annotations

from typing import Any

__all__ = ["AUTHENTICATED_USERS", "account_name", "plan_security", "security_snapshot"]

AUTHENTICATED_USERS = "Authenticated Users"


def account_name(host: str) -> str:
    """An inventory host name or FQDN -> the computer's account name (``srv1.corp.example.com`` -> ``SRV1$``).

    The NetBIOS computer name is the first label, at most 15 characters.
    """
    text = str(host).strip().rsplit("\\", maxsplit=1)[-1]
    text = text[:-1] if text.endswith("$") else text
    return text.split(".")[0].upper()[:15] + "$"


def security_snapshot(raw: dict | None) -> dict:
    """The group, its members and the two permissions that matter, as read."""
    raw = raw or {}
    return {
        "group": raw.get("group"),
        "group_exists": bool(raw.get("group_exists")),
        "members": sorted({account_name(m) for m in raw.get("members") or []}),
        "group_permission": raw.get("group_permission") or "None",
        "authenticated_users_permission": raw.get("authenticated_users_permission") or "None",
    }


def plan_security(
    raw: dict | None, group: str, members: list[str], member_state: str = "present", gpo_present: bool = True
) -> tuple[list[dict], dict, dict]:
    """``(operations, before, after)`` for the group, its membership and the GPO's permissions.

    ``gpo_present`` False (``state: absent``): only the membership is managed (the group stays).
    """
    before = security_snapshot(raw)
    before["group"] = group
    after: dict[str, Any] = dict(before, members=list(before["members"]))
    ops: list[dict] = []
    if not before["group_exists"]:
        if member_state == "absent":
            # Nothing to remove from a group that does not exist; nothing is created for it.
            return ops, before, after
        ops.append({"op": "create_group", "group": group})
        after["group_exists"] = True
    wanted = sorted({account_name(m) for m in members})
    have = set(before["members"])
    if member_state == "present":
        add = [m for m in wanted if m not in have]
        if add:
            ops.append({"op": "add_members", "group": group, "members": add})
            after["members"] = sorted(have | set(add))
    else:
        remove = [m for m in wanted if m in have]
        if remove:
            ops.append({"op": "remove_members", "group": group, "members": remove})
            after["members"] = sorted(have - set(remove))
    if gpo_present and member_state == "present":
        if before["group_permission"] != "GpoApply":
            ops.append({"op": "set_permission", "target": group, "target_type": "Group", "level": "GpoApply"})
            after["group_permission"] = "GpoApply"
        if before["authenticated_users_permission"] != "GpoRead":
            ops.append(
                {"op": "set_permission", "target": AUTHENTICATED_USERS, "target_type": "Group", "level": "GpoRead"}
            )
            after["authenticated_users_permission"] = "GpoRead"
    return ops, before, after
