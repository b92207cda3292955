"""The simulated Active Directory domain: GPOs, their registry settings and their links.

A domain is shared by the hosts of a fleet that are joined to it. Its state is
``<state_dir>/domain/<dns name>.json`` (NOT ``<state_dir>/*.json``, which are hosts), written
atomically with sorted keys and only when its serialised form changed, so a read-only or
check-mode run leaves it byte-identical. The cmdlets reach it through ``host.state_dir`` and the
host's domain name (:func:`domain_of`). It is created on first use (and only written on the
first change) from the OUs of the joined hosts found in the state directory.

What is modelled (docs/group-policy.md, "The simulator"):

* GPOs with a display name, a GUID, a comment, a status (``AllSettingsEnabled``,
  ``ComputerSettingsDisabled``, ``AllSettingsDisabled``), a version that grows with every
  change, security filtering (a list of principals; ``Authenticated Users`` by default),
  Group Policy Preferences registry items (action ``update``/``create``/``replace``/``delete``;
  ``Set-GPPrefRegistryValue`` *adds* an item, duplicates included) and Registry.pol values
  (Administrative Templates: one value per key and name);
* links of GPOs to the domain root and to OUs, with link order, ``enabled`` and ``enforced``,
  and "block inheritance" on OUs;
* computer policy processing (:func:`apply_group_policy`), at ``gpupdate`` and at boot (an
  ``on_boot`` hook): the links of the computer's OU and of every parent OU and the domain
  root, processed domain -> OU -> child OU, within one container from the highest link order
  to link order 1 (the last one applied wins); a blocking OU stops non-enforced links from
  above; enforced links are applied after all others, the root's last; disabled links are
  skipped; disabled GPOs and GPOs whose security filtering does not include the computer are
  listed as not applied. The Registry extension runs before the Preferences extension.
  Registry.pol values that no applied GPO sets any more are removed (not tattooed);
  preference items stay behind when their GPO no longer applies (tattooed, as without
  "Remove this item when it is no longer applied");
* the RSOP report of the last processing, rendered as ``gpresult /scope computer /x`` XML
  (:func:`gpresult_xml`).

* several domain controllers with replication delay: a change made on one controller (the
  cmdlets run on the host that makes it, a domain controller) is recorded with its time
  (:meth:`Domain.commit`); another controller has it ``replication_delay_s`` later (the fleet's
  ``domain:`` block). A member reads the controller it uses (``logon_server`` in the fleet, the
  first controller otherwise): :func:`view_of` is the domain as that controller has it now, and
  policy processing, ``gpresult`` and the member's directory searches read it. The directory part
  (GPC) and the SYSVOL part (GPT) of a GPO replicate together (MODEL);
* computer groups (``groups``: name -> member computer accounts) and GPO permissions
  (``permissions``: trustee -> ``GpoRead``/``GpoApply``/``GpoEdit``/``GpoEditDeleteModifySecurity``);
  a GPO applies to a computer when a trustee with ``GpoApply`` is the computer, a group in its
  token or a group every computer is in. A computer's token holds the groups it was in at its
  last boot or its last ``klist -li 0x3e7 purge`` (:func:`refresh_token`).

Not modelled: sites and their schedules (one delay between any two controllers), WMI filters,
loopback, slow links, user policy, item-level targeting, the 90-minute background refresh.
"""

from __future__ import annotations

import datetime
import json
import os
import threading
import time
import uuid
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from .host import _atomic_write, on_boot

SCHEMA = 1
DEFAULT_DOMAIN_POLICY_ID = "31B2F340-016D-11D2-945F-00C04FB984F9"
DEFAULT_DC_POLICY_ID = "6AC1786C-016F-11D2-945F-00C04FB984F9"
AUTHENTICATED_USERS = "NT AUTHORITY\\Authenticated Users"
#: Creation time of the built-in GPOs (fixed so that a new domain state is deterministic).
BUILTIN_TIME = "2026-01-05T09:00:00Z"
GPO_STATUSES = ("AllSettingsEnabled", "ComputerSettingsDisabled", "UserSettingsDisabled", "AllSettingsDisabled")

#: Keys of a fleet file's top-level ``domain:`` block (see :func:`validate_domain_block`).
DOMAIN_KEYS = {"name", "netbios", "ous", "block_inheritance", "gpos", "replication_delay_s", "groups"}
#: What replicates between domain controllers (``Domain.commit``): the directory and SYSVOL content.
REPLICATED = ("gpos", "links", "block_inheritance", "ous", "groups")
GPO_KEYS = {"name", "id", "comment", "status", "security_filter", "preferences", "policies", "links"}
ITEM_KEYS = {"key", "value_name", "type", "value", "action"}
LINK_KEYS = {"target", "enabled", "enforced"}
PREF_ACTIONS = ("update", "create", "replace", "delete")

_TYPE_NAMES = {
    "dword": "REG_DWORD",
    "qword": "REG_QWORD",
    "string": "REG_SZ",
    "expandstring": "REG_EXPAND_SZ",
    "multistring": "REG_MULTI_SZ",
    "binary": "REG_BINARY",
}


class DomainError(Exception):
    """A Group Policy cmdlet would fail (``ps/win_grouppolicy.py`` raises it as the cmdlet's error)."""


# ---------------------------------------------------------------------------- names


def norm_guid(value: Any) -> str:
    return str(value or "").strip().strip("{}").upper()


def norm_type(value: Any) -> str:
    text = str(value or "REG_DWORD").strip()
    if text.upper().startswith("REG_"):
        return text.upper()
    return _TYPE_NAMES.get(text.lower(), text.upper())


def norm_key(key: str) -> str:
    text = str(key).replace("/", "\\").strip("\\")
    first, _sep, rest = text.partition("\\")
    hive = {"hkey_local_machine": "HKLM", "hklm:": "HKLM", "hklm": "HKLM"}.get(first.lower(), first.upper())
    return hive + "\\" + rest


def split_dn(dn: str) -> list[tuple[str, str]]:
    out = []
    for part in str(dn).split(","):
        attr, _sep, value = part.partition("=")
        out.append((attr.strip().upper(), value.strip()))
    return out


def norm_dn(dn: str) -> str:
    return ",".join("%s=%s" % (a, v) for a, v in split_dn(dn))


def root_dn(name: str) -> str:
    return ",".join("DC=%s" % label for label in name.split("."))


def parent_dn(dn: str) -> str | None:
    parts = split_dn(dn)
    if parts[0][0] != "OU":
        return None
    return ",".join("%s=%s" % p for p in parts[1:])


def canonical(dn: str) -> str:
    """``OU=Servers,OU=Corp,DC=corp,DC=example,DC=com`` -> ``corp.example.com/Corp/Servers``."""
    parts = split_dn(dn)
    domain = ".".join(v for a, v in parts if a == "DC")
    names = [v for a, v in parts if a != "DC"]
    return "/".join([domain, *reversed(names)])


def _now_iso() -> str:
    return datetime.datetime.fromtimestamp(time.time(), datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------- the domain


class Domain:
    """One domain's state and the operations the GroupPolicy cmdlets perform on it."""

    def __init__(self, state: dict, path: str | None, last_saved: str | None = None) -> None:
        self.state = state
        self.path = path
        self.lock = threading.RLock()
        # What is on disk; a domain that was never written counts as "written as created", so that
        # reading (or a check-mode run) never creates the file.
        self._clean = last_saved if last_saved is not None else self.serialise()

    # ------------------------------------------------------------------ persistence
    def serialise(self) -> str:
        return json.dumps(self.state, sort_keys=True, indent=1) + "\n"

    def save_if_changed(self) -> bool:
        with self.lock:
            text = self.serialise()
            if not self.path or text == self._clean:
                return False
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            _atomic_write(self.path, text)
            self._clean = text
            return True

    # ------------------------------------------------------------------ replication
    @property
    def replication_delay(self) -> float:
        return float(self.state.get("replication_delay_s") or 0.0)

    def _replicated(self, state: dict) -> dict:
        return json.loads(json.dumps({k: state.get(k) for k in REPLICATED}))

    def commit(self, host: Any) -> bool:
        """A change made on ``host`` (a domain controller) is complete: record it for the other
        controllers (they have it ``replication_delay_s`` later), then save."""
        with self.lock:
            if self.replication_delay > 0 and host is not None:
                now = self._replicated(self.state)
                history = self.state.setdefault("history", [])
                if not history:
                    # What every controller had before this change (as last saved).
                    history.append({"at": 0.0, "origin": None, "state": self._replicated(json.loads(self._clean))})
                if now != history[-1]["state"]:
                    at = round(float(host.now()), 3)
                    history.append({"at": at, "origin": dc_of(host), "state": now})
                    # Entries every controller has: only the newest of them is still needed.
                    seen = [i for i, h in enumerate(history) if h["at"] + self.replication_delay <= at]
                    if len(seen) > 1:
                        del history[: seen[-1]]
            return self.save_if_changed()

    def view_for(self, dc: str | None, now: float) -> Domain:
        """The domain as the controller ``dc`` has it at ``now`` (read only)."""
        history = self.state.get("history") or []
        if not history or dc is None:
            return self
        delay = self.replication_delay
        visible = history[0]
        for entry in history[1:]:
            origin = entry.get("origin")
            if entry["at"] + (0.0 if origin is not None and origin == dc else delay) <= now:
                visible = entry
        if visible is history[-1]:
            return self
        return Domain({**self.state, **json.loads(json.dumps(visible["state"]))}, None)

    # ------------------------------------------------------------------ identity
    @property
    def name(self) -> str:
        return self.state["name"]

    @property
    def netbios(self) -> str:
        return self.state["netbios"]

    @property
    def root(self) -> str:
        return root_dn(self.name)

    @property
    def gpos(self) -> dict:
        return self.state["gpos"]

    def ou_exists(self, dn: str) -> bool:
        low = norm_dn(dn).lower()
        return low == self.root.lower() or low in {o.lower() for o in self.state["ous"]}

    def add_ou(self, dn: str) -> None:
        with self.lock:
            current = norm_dn(dn)
            while current and current.lower() != self.root.lower():
                if not self.ou_exists(current):
                    self.state["ous"].append(current)
                    self.state["ous"].sort(key=str.lower)
                current = parent_dn(current) or ""

    def blocks_inheritance(self, dn: str) -> bool:
        return norm_dn(dn).lower() in {d.lower() for d in self.state.get("block_inheritance", [])}

    def gpo_by_name(self, name: str) -> dict | None:
        for gpo in self.gpos.values():
            if gpo["name"].lower() == str(name).lower():
                return gpo
        return None

    def _require(self, name: str) -> dict:
        gpo = self.gpo_by_name(name)
        if gpo is None:
            raise DomainError("GPO with the display name '%s' was not found in the %s domain." % (name, self.name))
        return gpo

    def _touch(self, gpo: dict) -> None:
        gpo["version"] = int(gpo.get("version", 0)) + 1
        gpo["modified"] = _now_iso()

    # ------------------------------------------------------------------ GPOs (New-GPO, Set-GP*, Remove-GP*)
    def new_gpo(self, name: str, comment: str = "", gpo_id: str | None = None, builtin: bool = False) -> dict:
        with self.lock:
            if self.gpo_by_name(name) is not None:
                raise DomainError(
                    "A GPO with the display name '%s' already exists in the %s domain." % (name, self.name)
                )
            ident = norm_guid(gpo_id) if gpo_id else str(uuid.uuid4()).upper()
            stamp = BUILTIN_TIME if builtin else _now_iso()
            gpo = {
                "id": ident,
                "name": name,
                "comment": comment or "",
                "status": "AllSettingsEnabled",
                "version": 0,
                "created": stamp,
                "modified": stamp,
                # Trustees with GpoApply (Read + Apply Group Policy), and with GpoRead only.
                "security_filter": [AUTHENTICATED_USERS],
                "read_only": [],
                "extensions": [],
                "preferences": [],
                "policies": [],
                "builtin": builtin,
            }
            self.gpos[ident] = gpo
            return gpo

    def set_comment(self, name: str, comment: str) -> None:
        with self.lock:
            gpo = self._require(name)
            gpo["comment"] = comment or ""
            gpo["modified"] = _now_iso()

    def add_preference(
        self, name: str, key: str, value_name: str, rtype: str, value: Any, action: str = "update"
    ) -> None:
        """Set-GPPrefRegistryValue: appends an item (it never replaces one)."""
        with self.lock:
            gpo = self._require(name)
            if action not in PREF_ACTIONS:
                raise DomainError("invalid preference action %r" % action)
            items = gpo["preferences"]
            items.append(
                {
                    "key": norm_key(key),
                    "value_name": value_name,
                    "type": norm_type(rtype),
                    "value": value,
                    "action": action,
                    "order": len(items) + 1,
                    "disabled": False,
                    "uid": "{%s}" % str(uuid.uuid4()).upper(),
                }
            )
            self._touch(gpo)

    def preferences(self, name: str, key: str, value_name: str) -> list[dict]:
        gpo = self._require(name)
        return [p for p in gpo["preferences"] if _same(p, key, value_name)]

    def remove_preference(self, name: str, key: str, value_name: str) -> int:
        """Remove-GPPrefRegistryValue: removes every item of the value; fails when there is none."""
        with self.lock:
            gpo = self._require(name)
            keep = [p for p in gpo["preferences"] if not _same(p, key, value_name)]
            removed = len(gpo["preferences"]) - len(keep)
            if not removed:
                raise DomainError(
                    "The Registry preference item for %s\\%s was not found in GPO '%s'." % (key, value_name, name)
                )
            for order, item in enumerate(keep, start=1):
                item["order"] = order
            gpo["preferences"] = keep
            self._touch(gpo)
            return removed

    def set_policy(self, name: str, key: str, value_name: str, rtype: str, value: Any) -> None:
        """Set-GPRegistryValue: Registry.pol holds one value per key and name."""
        with self.lock:
            gpo = self._require(name)
            keep = [p for p in gpo["policies"] if not _same(p, key, value_name)]
            keep.append({"key": norm_key(key), "value_name": value_name, "type": norm_type(rtype), "value": value})
            gpo["policies"] = keep
            self._touch(gpo)

    def policies(self, name: str, key: str, value_name: str) -> list[dict]:
        gpo = self._require(name)
        return [p for p in gpo["policies"] if _same(p, key, value_name)]

    def remove_policy(self, name: str, key: str, value_name: str) -> None:
        with self.lock:
            gpo = self._require(name)
            keep = [p for p in gpo["policies"] if not _same(p, key, value_name)]
            if len(keep) == len(gpo["policies"]):
                raise DomainError("The registry value %s\\%s is not configured in GPO '%s'." % (key, value_name, name))
            gpo["policies"] = keep
            self._touch(gpo)

    def remove_gpo(self, name: str) -> None:
        with self.lock:
            gpo = self._require(name)
            del self.gpos[gpo["id"]]
            for target in list(self.state["links"]):
                self.state["links"][target] = [lk for lk in self.state["links"][target] if lk["gpo_id"] != gpo["id"]]
                if not self.state["links"][target]:
                    del self.state["links"][target]

    # ------------------------------------------------------------------ GPO permissions (Get-/Set-GPPermission)
    def permission_of(self, name: str, trustee: str) -> str:
        """``GpoApply``, ``GpoRead`` or ``None`` (the levels this model keeps for a trustee)."""
        gpo = self._require(name)
        low = _trustee(trustee, self.netbios)
        if low in {_trustee(t, self.netbios) for t in gpo.get("security_filter") or []}:
            return "GpoApply"
        if low in {_trustee(t, self.netbios) for t in gpo.get("read_only") or []}:
            return "GpoRead"
        return "None"

    def set_permission(self, name: str, trustee: str, level: str, replace: bool) -> bool:
        """Set-GPPermission: without -Replace a higher level already granted stays (no change)."""
        with self.lock:
            gpo = self._require(name)
            rank = {"None": 0, "GpoRead": 1, "GpoApply": 2}
            if level not in rank:
                raise DomainError("permission level %s is not modelled" % level)
            current = self.permission_of(name, trustee)
            if current == level or (not replace and rank[current] > rank[level]):
                return False
            low = _trustee(trustee, self.netbios)
            for kind in ("security_filter", "read_only"):
                gpo[kind] = [t for t in gpo.get(kind) or [] if _trustee(t, self.netbios) != low]
            if level == "GpoApply":
                gpo["security_filter"].append(trustee)
            elif level == "GpoRead":
                gpo.setdefault("read_only", []).append(trustee)
            # MODEL: a permission change counts as a change of the GPO's directory object.
            self._touch(gpo)
            return True

    # ------------------------------------------------------------------ groups (New-ADGroup, Add-/Remove-ADGroupMember)
    def group(self, name: str) -> dict | None:
        for gname, group in (self.state.get("groups") or {}).items():
            if gname.lower() == str(name).lower():
                return group
        return None

    def new_group(self, name: str, path: str | None = None, description: str = "") -> dict:
        with self.lock:
            if self.group(name) is not None:
                raise DomainError("The specified group already exists")
            group = {
                "dn": "CN=%s,%s" % (name, norm_dn(path) if path else "CN=Users," + self.root),
                "description": description or "",
                "members": [],
            }
            self.state.setdefault("groups", {})[name] = group
            return group

    def group_members(self, name: str, at: float | None = None, dc: str | None = None) -> list[str]:
        """The computer accounts (``NAME$``) in a group now, or at time ``at`` on controller ``dc``
        (a change made on another controller reaches it ``replication_delay_s`` later)."""
        group = self.group(name)
        if group is None:
            raise DomainError("Cannot find an object with identity: '%s' under: '%s'." % (name, self.root))
        out = []
        for entry in group["members"]:
            if at is None:
                if entry.get("removed") is None:
                    out.append(entry["account"])
                continue
            lag = self.replication_delay if dc and entry.get("origin") and entry["origin"] != dc else 0.0
            removed = entry.get("removed")
            if entry["added"] + lag <= at and (removed is None or removed + lag > at):
                out.append(entry["account"])
        return sorted(set(out))

    def add_group_members(self, name: str, accounts: list[str], now: float = 0.0, origin: str | None = None) -> int:
        with self.lock:
            group = self.group(name)
            if group is None:
                raise DomainError("Cannot find an object with identity: '%s' under: '%s'." % (name, self.root))
            current = {a.lower() for a in self.group_members(name)}
            added = 0
            for account in accounts:
                account = _account(account)
                if account.lower() not in current:
                    group["members"].append(
                        {"account": account, "added": round(float(now), 3), "removed": None, "origin": origin}
                    )
                    current.add(account.lower())
                    added += 1
            return added

    def remove_group_members(self, name: str, accounts: list[str], now: float = 0.0) -> int:
        with self.lock:
            group = self.group(name)
            if group is None:
                raise DomainError("Cannot find an object with identity: '%s' under: '%s'." % (name, self.root))
            wanted = {_account(a).lower() for a in accounts}
            removed = 0
            for entry in group["members"]:
                if entry.get("removed") is None and entry["account"].lower() in wanted:
                    entry["removed"] = round(float(now), 3)
                    removed += 1
            return removed

    def token_groups(self, account: str, at: float, dc: str | None = None) -> list[str]:
        """The groups a computer's token issued at ``at`` by controller ``dc`` holds."""
        low = _account(account).lower()
        return sorted(
            name
            for name in self.state.get("groups") or {}
            if low in {a.lower() for a in self.group_members(name, at=at, dc=dc)}
        )

    # ------------------------------------------------------------------ links (New-GPLink, Set-GPLink, Remove-GPLink)
    def links_on(self, dn: str) -> list[dict]:
        """The links of one container; index 0 is link order 1 (the highest precedence)."""
        for target, links in self.state["links"].items():
            if target.lower() == norm_dn(dn).lower():
                return links
        return []

    def _link(self, gpo: dict, dn: str) -> dict | None:
        return next((lk for lk in self.links_on(dn) if lk["gpo_id"] == gpo["id"]), None)

    def new_link(self, name: str, target: str, enabled: bool = True, enforced: bool = False) -> None:
        with self.lock:
            gpo = self._require(name)
            if not self.ou_exists(target):
                raise DomainError("The directory object %s does not exist in the %s domain." % (target, self.name))
            if self._link(gpo, target) is not None:
                raise DomainError(
                    "The GPO named '%s' is already linked to a Scope of Management with Path %s." % (name, target)
                )
            for existing in self.state["links"]:
                if existing.lower() == norm_dn(target).lower():
                    target = existing
                    break
            self.state["links"].setdefault(norm_dn(target), []).append(
                {"gpo_id": gpo["id"], "enabled": bool(enabled), "enforced": bool(enforced)}
            )

    def set_link(self, name: str, target: str, enabled: bool, enforced: bool) -> None:
        with self.lock:
            link = self._link(self._require(name), target)
            if link is None:
                raise DomainError("The GPO named '%s' is not linked to %s." % (name, target))
            link["enabled"], link["enforced"] = bool(enabled), bool(enforced)

    def remove_link(self, name: str, target: str) -> None:
        with self.lock:
            gpo = self._require(name)
            if self._link(gpo, target) is None:
                raise DomainError("The GPO named '%s' is not linked to %s." % (name, target))
            for existing in list(self.state["links"]):
                if existing.lower() == norm_dn(target).lower():
                    self.state["links"][existing] = [
                        lk for lk in self.state["links"][existing] if lk["gpo_id"] != gpo["id"]
                    ]
                    if not self.state["links"][existing]:
                        del self.state["links"][existing]

    def gplink(self, dn: str) -> str:
        """The gPLink attribute of a container (MS-GPOL: flags 1 = disabled, 2 = enforced)."""
        parts = []
        for link in reversed(self.links_on(dn)):
            flags = (0 if link["enabled"] else 1) | (2 if link["enforced"] else 0)
            parts.append("[LDAP://cn={%s},cn=policies,cn=system,%s;%d]" % (link["gpo_id"], self.root, flags))
        return "".join(parts)

    def soms_linking(self, gpo_id: str) -> list[dict]:
        out = []
        for target, links in sorted(self.state["links"].items()):
            if any(lk["gpo_id"] == norm_guid(gpo_id) for lk in links):
                out.append({"target": target, "gplink": self.gplink(target)})
        return out

    # ------------------------------------------------------------------ inheritance and RSOP
    def som_chain(self, dn: str | None) -> list[str]:
        """The containers whose links reach an object in ``dn``: the domain root, then each OU down to ``dn``."""
        chain = []
        current = norm_dn(dn) if dn else None
        while current and current.lower() != self.root.lower():
            chain.append(current)
            current = parent_dn(current)
        return [self.root, *reversed(chain)]

    def processing_order(self, dn: str | None) -> list[dict]:
        """Links in the order a computer in ``dn`` processes them (the last one wins)."""
        chain = self.som_chain(dn)
        blocked_at = max([i for i, som in enumerate(chain) if self.blocks_inheritance(som)], default=0)
        normal: list[dict] = []
        enforced: dict[int, list[dict]] = {}
        for level, som in enumerate(chain):
            links = self.links_on(som)
            for order in range(len(links), 0, -1):
                link = links[order - 1]
                if not link["enabled"]:
                    continue
                entry = {
                    "gpo_id": link["gpo_id"],
                    "som": som,
                    "link_order": order,
                    "enforced": link["enforced"],
                    "level": level,
                }
                if link["enforced"]:
                    enforced.setdefault(level, []).append(entry)
                elif level >= blocked_at:
                    normal.append(entry)
        tail = [e for level in sorted(enforced, reverse=True) for e in enforced[level]]
        return normal + tail

    def inherited_links(self, dn: str) -> list[dict]:
        """What Get-GPInheritance reports as InheritedGpoLinks: precedence order (1 = wins), no filtering."""
        entries = self.processing_order(dn)
        out = []
        for precedence, e in enumerate(reversed(entries), start=1):
            gpo = self.gpos.get(e["gpo_id"])
            out.append(
                {
                    "gpo_id": e["gpo_id"],
                    "display_name": gpo["name"] if gpo else e["gpo_id"],
                    "enabled": True,
                    "enforced": e["enforced"],
                    "order": precedence,
                    "target": e["som"],
                }
            )
        return out

    def _allowed(self, gpo: dict, identities: set[str]) -> bool:
        principals = {_trustee(p, self.netbios) for p in gpo.get("security_filter") or []}
        everyone = {"authenticated users", "domain computers"}
        return bool(principals & (everyone | {_trustee(i, self.netbios) for i in identities}))

    def resultant_set(self, dn: str | None, identities: set[str]) -> dict:
        """``{"applied": [...], "denied": [...]}``: GPOs in processing order, and the ones filtered out."""
        entries = self.processing_order(dn)
        last = {e["gpo_id"]: i for i, e in enumerate(entries)}
        applied, denied = [], []
        for i, e in enumerate(entries):
            gpo = self.gpos.get(e["gpo_id"])
            if gpo is None or last[e["gpo_id"]] != i:
                continue
            entry = dict(e, name=gpo["name"], version=gpo.get("version", 0))
            if gpo.get("status") in ("ComputerSettingsDisabled", "AllSettingsDisabled"):
                denied.append(dict(entry, reason="disabled"))
            elif not self._allowed(gpo, identities):
                denied.append(dict(entry, reason="access_denied"))
            elif not (gpo["preferences"] or gpo["policies"] or gpo.get("extensions")):
                denied.append(dict(entry, reason="empty"))
            else:
                applied.append(
                    dict(
                        entry,
                        preferences=[dict(p) for p in gpo["preferences"]],
                        policies=[dict(p) for p in gpo["policies"]],
                        extensions=list(gpo.get("extensions") or []),
                    )
                )
        for order, entry in enumerate(applied, start=1):
            entry["applied_order"] = order
        return {"applied": applied, "denied": denied}


def _account(name: str) -> str:
    """``srv1``, ``CORP\\srv1$`` -> ``SRV1$`` (a computer's sAMAccountName)."""
    base = str(name).rsplit("\\", maxsplit=1)[-1].upper()
    return base if base.endswith("$") else base + "$"


def _trustee(name: str, netbios: str) -> str:
    """A trustee name without its domain prefix, lower case (``CORP\\MDE group`` = ``MDE group``)."""
    text = str(name).strip()
    for prefix in (netbios.lower() + "\\", "nt authority\\"):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :]
    return text.lower()


def _same(item: dict, key: str, value_name: str) -> bool:
    return (
        norm_key(item["key"]).lower() == norm_key(key).lower()
        and str(item["value_name"]).lower() == str(value_name).lower()
    )


# ---------------------------------------------------------------------------- loading

_CACHE: dict[tuple[str | None, str], Domain] = {}
_CACHE_LOCK = threading.Lock()


def domain_path(state_dir: str, name: str) -> str:
    return os.path.join(state_dir, "domain", "%s.json" % name.lower())


def _joined_states(state_dir: str | None, name: str) -> list[dict]:
    """The saved states of the hosts of ``state_dir`` joined to the domain ``name``."""
    out: list[dict] = []
    if not state_dir or not os.path.isdir(state_dir):
        return out
    for fname in sorted(os.listdir(state_dir)):
        if not fname.endswith(".json") or fname.endswith(".counters.json"):
            continue
        try:
            with open(os.path.join(state_dir, fname), encoding="utf-8") as fh:
                state = json.load(fh)
        except (OSError, ValueError):
            continue
        dom = state.get("domain") if isinstance(state, dict) else None
        if dom and dom.get("joined") and str(dom.get("name") or "").lower() == name.lower():
            out.append(state)
    return out


def discover_ous(state_dir: str | None, name: str) -> list[str]:
    """The OUs of the hosts of ``state_dir`` joined to ``name``."""
    return [str(s["domain"]["ou"]) for s in _joined_states(state_dir, name) if s["domain"].get("ou")]


def discover_computers(state_dir: str | None, dom: Domain) -> dict[str, str]:
    """The computer accounts of the domain (``NAME$`` -> distinguished name): its joined hosts."""
    out = {}
    for state in _joined_states(state_dir, dom.name):
        computer = str(state.get("hostname") or state.get("name") or "").upper()
        out[computer + "$"] = "CN=%s,%s" % (computer, state["domain"].get("ou") or "CN=Computers," + dom.root)
    return out


def initial_state(name: str, ous: list[str] | None = None) -> dict:
    """A new domain: the two built-in GPOs and their links, and the OUs given (with their parents)."""
    name = name.lower()
    dom = Domain(
        {
            "schema": SCHEMA,
            "name": name,
            "netbios": name.split(".")[0].upper()[:15],
            "ous": [],
            "block_inheritance": [],
            "gpos": {},
            "links": {},
        },
        None,
    )
    dom.add_ou("OU=Domain Controllers," + dom.root)
    for ou in ous or []:
        if split_dn(ou)[0][0] == "OU":
            dom.add_ou(ou)
    for ident, gpo_name, target in (
        (DEFAULT_DOMAIN_POLICY_ID, "Default Domain Policy", dom.root),
        (DEFAULT_DC_POLICY_ID, "Default Domain Controllers Policy", "OU=Domain Controllers," + dom.root),
    ):
        gpo = dom.new_gpo(gpo_name, gpo_id=ident, builtin=True)
        gpo["version"] = 1
        gpo["extensions"] = ["Security"]
        dom.new_link(gpo_name, target)
    return dom.state


def load(state_dir: str | None, name: str) -> Domain:
    """The domain ``name`` of a state directory (one object per process, loaded or created once)."""
    key = (os.path.abspath(state_dir) if state_dir else None, name.lower())
    with _CACHE_LOCK:
        dom = _CACHE.get(key)
        if dom is None:
            path = domain_path(state_dir, name) if state_dir else None
            if path and os.path.exists(path):
                with open(path, encoding="utf-8") as fh:
                    text = fh.read()
                dom = Domain(json.loads(text), path, text)
            else:
                dom = Domain(initial_state(name, discover_ous(state_dir, name)), path)
            _CACHE[key] = dom
        return dom


def loaded(state_dir: str | None, name: str) -> bool:
    key = (os.path.abspath(state_dir) if state_dir else None, name.lower())
    with _CACHE_LOCK:
        return key in _CACHE


def forget(state_dir: str | None = None) -> None:
    """Drop cached domains (tests): all of them, or those of one state directory."""
    with _CACHE_LOCK:
        for key in list(_CACHE):
            if state_dir is None or key[0] == os.path.abspath(state_dir):
                del _CACHE[key]


def dc_of(host: Any) -> str | None:
    """The domain controller a host reads: itself for a controller, else its ``logon_server``
    (fleet file), else None (the controller changes are made on: no delay)."""
    if int(host.state["os"]["product_type"]) == 2:
        return str(host.state.get("hostname") or host.name).lower()
    server = (host.state.get("domain") or {}).get("logon_server")
    return str(server).lower() if server else None


def view_of(host: Any) -> Domain | None:
    """The domain as the controller ``host`` uses has it now (``Domain.view_for``)."""
    dom = domain_of(host)
    if dom is None:
        return None
    return dom.view_for(dc_of(host), float(host.now()))


def domain_of(host: Any) -> Domain | None:
    """The domain a simulated host is joined to, or None for a workgroup host."""
    info = host.state.get("domain") or {}
    if not info.get("joined") or not info.get("name"):
        return None
    return load(host.state_dir, str(info["name"]))


# ---------------------------------------------------------------------------- fleet ``domain:`` block


def validate_domain_block(block: Any, source: str = "<fleet>") -> dict:
    """Check a fleet file's ``domain:`` block; returns it. Unknown keys are rejected.

    ::

        domain:
          name: corp.example.com            # the joined hosts' domain (fleet.new_state uses this name)
          ous: [OU=Empty,OU=Corp,DC=corp,DC=example,DC=com]     # extra OUs (hosts' OUs exist anyway)
          block_inheritance: [OU=Lab,DC=corp,DC=example,DC=com]
          gpos:
            - name: Legacy AV policy
              status: AllSettingsEnabled
              security_filter: [NT AUTHORITY\\Authenticated Users]
              policies: [{key: HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Defender,
                          value_name: DisableAntiSpyware, type: REG_DWORD, value: 1}]
              preferences: [{key: ..., value_name: ..., value: 1, action: update}]
              links: [{target: OU=Servers,OU=Corp,DC=corp,DC=example,DC=com, enabled: true, enforced: false}]
    """
    if not isinstance(block, dict):
        raise ValueError("%s: domain must be a mapping" % source)
    bad = set(block) - DOMAIN_KEYS
    if bad:
        raise ValueError("%s: domain: unknown keys %s; allowed: %s" % (source, sorted(bad), sorted(DOMAIN_KEYS)))
    delay = block.get("replication_delay_s", 0)
    if not isinstance(delay, int | float) or isinstance(delay, bool) or delay < 0:
        raise ValueError("%s: domain.replication_delay_s must be a number of seconds >= 0, got %r" % (source, delay))
    groups = block.get("groups") or {}
    if not isinstance(groups, dict) or not all(isinstance(m, list | type(None)) for m in groups.values()):
        raise ValueError("%s: domain.groups must map a group name to a list of computer names" % source)
    for i, gpo in enumerate(block.get("gpos") or []):
        where = "%s: domain.gpos[%d]" % (source, i)
        if not isinstance(gpo, dict) or not gpo.get("name"):
            raise ValueError("%s needs at least 'name'" % where)
        bad = set(gpo) - GPO_KEYS
        if bad:
            raise ValueError("%s: unknown keys %s; allowed: %s" % (where, sorted(bad), sorted(GPO_KEYS)))
        if gpo.get("status", "AllSettingsEnabled") not in GPO_STATUSES:
            raise ValueError("%s: status must be one of %s" % (where, ", ".join(GPO_STATUSES)))
        for kind, keys in (("preferences", ITEM_KEYS), ("policies", ITEM_KEYS - {"action"}), ("links", LINK_KEYS)):
            for item in gpo.get(kind) or []:
                bad = set(item) - keys
                if bad:
                    raise ValueError("%s.%s: unknown keys %s; allowed: %s" % (where, kind, sorted(bad), sorted(keys)))
    return block


def seed(state_dir: str, block: dict) -> Domain:
    """Create or extend a domain from a ``domain:`` block and write it (test set-up)."""
    validate_domain_block(block)
    dom = load(state_dir, str(block.get("name") or "corp.example.com"))
    with dom.lock:
        if block.get("replication_delay_s") is not None:
            dom.state["replication_delay_s"] = float(block["replication_delay_s"])
        for group, members in (block.get("groups") or {}).items():
            dom.new_group(group)
            dom.add_group_members(group, list(members or []))
        for ou in block.get("ous") or []:
            dom.add_ou(ou)
        for dn in block.get("block_inheritance") or []:
            if norm_dn(dn).lower() not in {d.lower() for d in dom.state["block_inheritance"]}:
                dom.state["block_inheritance"].append(norm_dn(dn))
        for spec in block.get("gpos") or []:
            gpo = dom.gpo_by_name(spec["name"]) or dom.new_gpo(spec["name"], spec.get("comment", ""), spec.get("id"))
            gpo["status"] = spec.get("status", gpo["status"])
            gpo["security_filter"] = list(spec.get("security_filter") or gpo["security_filter"])
            for item in spec.get("policies") or []:
                dom.set_policy(
                    spec["name"], item["key"], item["value_name"], item.get("type", "REG_DWORD"), item["value"]
                )
            for item in spec.get("preferences") or []:
                dom.add_preference(
                    spec["name"],
                    item["key"],
                    item["value_name"],
                    item.get("type", "REG_DWORD"),
                    item.get("value"),
                    item.get("action", "update"),
                )
            for link in spec.get("links") or []:
                dom.new_link(spec["name"], link["target"], link.get("enabled", True), link.get("enforced", False))
        dom.save_if_changed()
    return dom


# ---------------------------------------------------------------------------- a member processes policy


def token_time(host: Any) -> float:
    """When the computer's Kerberos ticket (and so its group list) was issued: its last boot, or its
    last ``klist -li 0x3e7 purge`` (Microsoft Learn: "klist"; a computer's group membership takes
    effect at its next restart or once its tickets are purged)."""
    from .host import filetime_to_unix

    booted = filetime_to_unix(int(host.state["boot"]["last_boot_filetime"]))
    return max(booted, float((host.state.get("domain") or {}).get("tickets_purged_at") or 0.0))


def purge_tickets(host: Any) -> None:
    """``klist -li 0x3e7 purge``: the computer's next ticket carries its groups as they are now."""
    with host.lock:
        host.state.setdefault("domain", {})["tickets_purged_at"] = round(float(host.now()), 3)


def host_identities(host: Any, dom: Domain) -> set[str]:
    name = str(host.state.get("hostname") or host.name).upper()
    ids = {name + "$", "%s\\%s$" % (dom.netbios, name)}
    groups = list(host.state.get("groups") or []) + dom.token_groups(name + "$", token_time(host), dc_of(host))
    for group in groups:
        ids.update({str(group), "%s\\%s" % (dom.netbios, group)})
    return {i.lower() for i in ids}


def _host_ou(host: Any) -> str | None:
    return (host.state.get("domain") or {}).get("ou")


def _settings(applied: list[dict]) -> list[dict]:
    """Registry settings with their precedence (1 = the one that wins), per extension."""
    out: list[dict] = []
    for kind in ("policies", "preferences"):
        flat = []
        for gpo in applied:
            for item in gpo[kind]:
                flat.append(dict(item, kind="policy" if kind == "policies" else "preference", gpo_id=gpo["gpo_id"]))
        groups: dict[tuple[str, str], list[dict]] = {}
        for item in flat:
            groups.setdefault((item["key"].lower(), item["value_name"].lower()), []).append(item)
        for items in groups.values():
            for precedence, item in enumerate(reversed(items), start=1):
                item["precedence"] = precedence
        out.extend(flat)
    return out


def _record(dom: Domain | None, host: Any, builtin_only: bool = False) -> dict:
    ou = _host_ou(host)
    if dom is None:
        return {"domain": None, "som": "Local", "applied": [], "denied": [], "settings": [], "time": host.now()}
    rsop = dom.resultant_set(ou, host_identities(host, dom))
    applied = [g for g in rsop["applied"] if not builtin_only or dom.gpos.get(g["gpo_id"], {}).get("builtin")]
    for order, entry in enumerate(applied, start=1):
        entry["applied_order"] = order
    settings = _settings(applied)
    for entry in applied:
        # The report names the extensions a GPO used; the settings themselves are kept once, above.
        extensions = list(entry.get("extensions") or [])
        if entry.pop("policies"):
            extensions.append("Registry")
        if entry.pop("preferences"):
            extensions.append("Group Policy Registry")
        entry["extensions"] = extensions
    return {
        "domain": dom.name,
        "som": canonical(ou or "CN=Computers," + dom.root),
        "applied": applied,
        "denied": [] if builtin_only else rsop["denied"],
        "settings": settings,
        "time": host.now(),
    }


def apply_group_policy(host: Any) -> dict:
    """Computer policy processing on a member (gpupdate, or boot). Returns the RSOP record it stored."""
    with host.lock:
        dom = view_of(host)
        previous = host.state.get("group_policy") or {}
        record = _record(dom, host)
        changed = 0
        # The Registry extension (Registry.pol) runs first ...
        policy_values = []
        for item in (s for s in record["settings"] if s["kind"] == "policy"):
            changed += bool(host.reg_set(item["key"], item["value_name"], item["value"], item["type"]))
            policy_values.append([item["key"], item["value_name"]])
        # ... and removes what it set before and no GPO sets any more (policy values are not tattooed).
        now_set = {(k.lower(), n.lower()) for k, n in policy_values}
        for key, name in previous.get("policy_values") or []:
            if (key.lower(), name.lower()) not in now_set:
                changed += bool(host.reg_delete_value(key, name))
        # Then Group Policy Preferences. Items stay when their GPO stops applying (tattooed).
        for item in (s for s in record["settings"] if s["kind"] == "preference"):
            if item.get("action") == "delete":
                changed += bool(host.reg_delete_value(item["key"], item["value_name"]))
            else:
                changed += bool(host.reg_set(item["key"], item["value_name"], item["value"], item["type"]))
        record["policy_values"] = [list(v) for v in sorted({tuple(v) for v in policy_values})]
        host.state["group_policy"] = record
        if changed:
            # MODEL: only 1502 ("applied new settings"); the 1503 "no changes" event is not written, to keep
            # the event log of hosts that Group Policy does not touch as it was.
            host.write_event(
                "System",
                "Microsoft-Windows-GroupPolicy",
                1502,
                "Information",
                "The processing of Group Policy succeeded. Windows detected and applied %d new "
                "settings from Group Policy objects." % changed,
            )
        return record


@on_boot
def _group_policy_at_boot(host: Any) -> None:
    """Windows processes computer policy at startup, before Defender reads its policy."""
    info = host.state.get("domain") or {}
    if not info.get("joined") or not info.get("name"):
        return
    # Hosts without a state directory (unit tests of other features) only take part when a
    # domain is already in use in this process.
    if host.state_dir is None and not loaded(None, str(info["name"])):
        return
    apply_group_policy(host)


# ---------------------------------------------------------------------------- gpresult /scope computer /x

_RSOP = "http://www.microsoft.com/GroupPolicy/Rsop"
_TYPES = "http://www.microsoft.com/GroupPolicy/Types"
_BASE = "http://www.microsoft.com/GroupPolicy/Settings/Base"
_SETTINGS = "http://www.microsoft.com/GroupPolicy/Settings"
_REGISTRY = "http://www.microsoft.com/GroupPolicy/Settings/Registry"
_GPP_REGISTRY = "http://www.microsoft.com/GroupPolicy/Settings/Windows/Registry"
_LOCAL_GPO = "Local Group Policy"
#: What the RSOP calls a Registry.pol value when the computer has the ADMX that describes it.
_ADMX = {
    ("hklm\\software\\policies\\microsoft\\windows defender", "disableantispyware"): (
        "Turn off Microsoft Defender Antivirus",
        "Windows Components/Microsoft Defender Antivirus",
    ),
    ("hklm\\software\\policies\\microsoft\\windows defender\\real-time protection", "disablerealtimemonitoring"): (
        "Turn off real-time protection",
        "Windows Components/Microsoft Defender Antivirus/Real-time Protection",
    ),
}
_HIVE_NAMES = {"HKLM": "HKEY_LOCAL_MACHINE", "HKCU": "HKEY_CURRENT_USER"}


def _t(tag: str, text: Any, indent: int, ns: str | None = None) -> str:
    attr = " xmlns=%s" % quoteattr(ns) if ns else ""
    return "%s<%s%s>%s</%s>\n" % ("  " * indent, tag, attr, escape(str(text)), tag)


def _gpo_ref(gpo_id: str, domain: str, precedence: int, indent: int) -> str:
    pad = "  " * indent
    return (
        '%s<GPO xmlns="%s">\n' % (pad, _BASE)
        + _t("Identifier", "{%s}" % gpo_id, indent + 1, _TYPES)
        + _t("Domain", domain, indent + 1, _TYPES)
        + "%s</GPO>\n" % pad
        + _t("Precedence", precedence, indent, _BASE)
    )


def _gpo_block(entry: dict, domain: str, applied: bool, reason: str | None) -> str:
    out = [
        "    <GPO>\n",
        _t("Name", entry["name"], 3),
        "      <Path>\n",
        _t("Identifier", "{%s}" % entry["gpo_id"], 4, _TYPES),
        _t("Domain", domain, 4, _TYPES),
        "      </Path>\n",
        _t("VersionDirectory", entry.get("version", 0), 3),
        _t("VersionSysvol", entry.get("version", 0), 3),
        _t("Enabled", "false" if reason == "disabled" else "true", 3),
        _t("IsValid", "true", 3),
        _t("FilterAllowed", "true", 3),
        _t("AccessDenied", "true" if reason == "access_denied" else "false", 3),
        "      <Link>\n",
        _t("SOMPath", canonical(entry["som"]), 4),
        _t("SOMOrder", entry.get("level", 0) + 2, 4),
        _t("AppliedOrder", entry.get("applied_order", 0) if applied else 0, 4),
        _t("LinkOrder", entry["link_order"], 4),
        _t("Enabled", "true", 4),
        _t("NoOverride", "true" if entry.get("enforced") else "false", 4),
        "      </Link>\n",
        _t("SecurityFilter", AUTHENTICATED_USERS, 3),
    ]
    out += [_t("ExtensionName", e, 3) for e in entry.get("extensions") or []]
    out.append("    </GPO>\n")
    return "".join(out)


def _policy_xml(item: dict, domain: str) -> str:
    admx = _ADMX.get((item["key"].lower(), item["value_name"].lower()))
    ref = _gpo_ref(item["gpo_id"], domain, item["precedence"], 4)
    if admx and item["value"] in (0, 1):
        return (
            "        <q1:Policy>\n"
            + ref
            + "          <q1:Name>%s</q1:Name>\n" % escape(admx[0])
            + "          <q1:State>%s</q1:State>\n" % ("Enabled" if item["value"] == 1 else "Disabled")
            + "          <q1:Category>%s</q1:Category>\n" % escape(admx[1])
            + "        </q1:Policy>\n"
        )
    path = item["key"].split("\\", 1)[1]
    value = (
        "<q1:Number>%d</q1:Number>" % int(item["value"])
        if item["type"] in ("REG_DWORD", "REG_QWORD")
        else "<q1:String>%s</q1:String>" % escape(str(item["value"]))
    )
    return (
        "        <q1:RegistrySetting>\n"
        + ref
        + "          <q1:KeyPath>%s</q1:KeyPath>\n" % escape(path)
        + "          <q1:AdmSetting>false</q1:AdmSetting>\n"
        + "          <q1:Value>\n            <q1:Name>%s</q1:Name>\n            %s\n          </q1:Value>\n"
        % (escape(item["value_name"]), value)
        + "        </q1:RegistrySetting>\n"
    )


def _pref_value(item: dict) -> str:
    if item["type"] == "REG_DWORD":
        return "%08X" % (int(item["value"] or 0) & 0xFFFFFFFF)
    if item["type"] == "REG_QWORD":
        return "%016X" % (int(item["value"] or 0) & 0xFFFFFFFFFFFFFFFF)
    return str(item["value"] if item["value"] is not None else "")


def _pref_xml(item: dict, domain: str, changed: str) -> str:
    hive, _sep, path = item["key"].partition("\\")
    action = {"update": "U", "create": "C", "replace": "R", "delete": "D"}[item.get("action", "update")]
    attrs = " ".join(
        "%s=%s" % (k, quoteattr(str(v)))
        for k, v in (
            ("action", action),
            ("displayDecimal", "0"),
            ("default", "0"),
            ("hive", _HIVE_NAMES.get(hive, hive)),
            ("key", path),
            ("name", item["value_name"]),
            ("type", item["type"]),
            ("value", _pref_value(item)),
        )
    )
    return (
        '          <q2:Registry clsid="{9CD4B2F4-923D-47f5-A062-E897DD1DAD50}" name=%s status=%s image="12" '
        "changed=%s uid=%s>\n"
        % (
            quoteattr(item["value_name"]),
            quoteattr(item["value_name"]),
            quoteattr(changed),
            quoteattr(item.get("uid") or "{00000000-0000-0000-0000-000000000000}"),
        )
        + _gpo_ref(item["gpo_id"], domain, item["precedence"], 6)
        + "            <q2:GPOSettingOrder>%d</q2:GPOSettingOrder>\n" % int(item.get("order") or 1)
        + "            <q2:Properties %s />\n" % attrs
        + "            <q2:Filters />\n"
        + "          </q2:Registry>\n"
    )


def gpresult_xml(host: Any) -> str:
    """``gpresult /scope computer /x`` of a host: the RSOP of its last computer policy processing."""
    record = host.state.get("group_policy")
    if record is None:
        # Policy processed before the simulation started: the built-in GPOs only.
        record = _record(view_of(host), host, builtin_only=True)
    domain = record.get("domain") or ""
    name = str(host.state.get("hostname") or host.name).upper()
    netbios = domain.split(".")[0].upper() if domain else name
    stamp = datetime.datetime.fromtimestamp(float(record.get("time") or host.now()), datetime.UTC)
    read_time = stamp.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    changed = stamp.strftime("%Y-%m-%d %H:%M:%S")
    out = [
        '<?xml version="1.0" encoding="utf-16"?>\n',
        '<Rsop xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="%s">\n' % _RSOP,
        _t("ReadTime", read_time, 1),
        _t("DataType", "LoggedData", 1),
        "  <ComputerResults>\n",
        _t("Version", 2031616, 2),
        _t("Name", "%s\\%s$" % (netbios, name), 2),
        _t("Domain", domain or name, 2),
        _t("SOM", record.get("som") or "Local", 2),
        _t("Site", "Default-First-Site-Name", 2),
    ]
    searched = ["Local", "%s/Configuration/Sites/Default-First-Site-Name" % domain] if domain else ["Local"]
    if domain:
        dom = view_of(host)
        ou = _host_ou(host)
        searched += [canonical(s) for s in (dom.som_chain(ou) if dom else [])]
    for order, path in enumerate(searched, start=1):
        kind = (
            "Local"
            if path == "Local"
            else ("Site" if "/Configuration/Sites/" in path else ("Domain" if "/" not in path else "OU"))
        )
        out += [
            "    <SearchedSOM>\n",
            _t("Path", path, 3),
            _t("Type", kind, 3),
            _t("Order", order, 3),
            _t("BlocksInheritance", "false", 3),
            _t("Blocked", "false", 3),
            _t("Reason", "Normal", 3),
            "    </SearchedSOM>\n",
        ]
    out.append(_t("SlowLink", "false", 2))
    out += [
        "    <GPO>\n",
        _t("Name", _LOCAL_GPO, 3),
        "      <Path>\n",
        _t("Identifier", "LocalGPO", 4, _TYPES),
        "      </Path>\n",
        _t("VersionDirectory", 0, 3),
        _t("VersionSysvol", 0, 3),
        _t("Enabled", "true", 3),
        _t("IsValid", "true", 3),
        _t("FilterAllowed", "true", 3),
        _t("AccessDenied", "false", 3),
        "      <Link>\n",
        _t("SOMPath", "Local", 4),
        _t("SOMOrder", 1, 4),
        _t("AppliedOrder", 0, 4),
        _t("LinkOrder", 1, 4),
        _t("Enabled", "true", 4),
        _t("NoOverride", "false", 4),
        "      </Link>\n",
        "    </GPO>\n",
    ]
    for entry in record.get("applied") or []:
        out.append(_gpo_block(entry, domain, True, None))
    for entry in record.get("denied") or []:
        out.append(_gpo_block(entry, domain, False, entry.get("reason")))
    settings = record.get("settings") or []
    policies = [s for s in settings if s["kind"] == "policy"]
    prefs = [s for s in settings if s["kind"] == "preference"]
    if policies:
        out.append(
            '    <ExtensionData>\n      <Extension xmlns:q1="%s" xsi:type="q1:RegistrySettings" xmlns="%s">\n'
            % (_REGISTRY, _SETTINGS)
        )
        out += [_policy_xml(p, domain) for p in policies]
        out.append("      </Extension>\n" + _t("Name", "Registry", 3) + "    </ExtensionData>\n")
    if prefs:
        out.append(
            '    <ExtensionData>\n      <Extension xmlns:q2="%s" xsi:type="q2:RegistrySettings" xmlns="%s">\n'
            % (_GPP_REGISTRY, _SETTINGS)
        )
        out.append('        <q2:RegistrySettings clsid="{A3CCFC41-DFDB-43a5-8D26-0FE8B954DA51}">\n')
        out += [_pref_xml(p, domain, changed) for p in prefs]
        out.append(
            "        </q2:RegistrySettings>\n      </Extension>\n"
            + _t("Name", "Group Policy Registry", 3)
            + "    </ExtensionData>\n"
        )
    out.append("  </ComputerResults>\n</Rsop>\n")
    return "".join(out)
