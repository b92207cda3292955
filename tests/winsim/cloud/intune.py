"""The fake Intune ``configurationPolicies`` store (Graph beta), one per tenant.

Shapes follow graph-docs: create answers 201 with the policy; ``$expand=settings`` /
``$expand=assignments``; ``PATCH`` updates properties (settings untouched), ``PUT``
replaces the policy (what the Intune admin center does); ``/assign`` replaces the
assignments and answers them; ``DELETE`` answers 204. Settings are validated against the
catalogue (unknown definition, wrong option, secret as plain value -> 400). Secret values
are kept but never returned: reads give ``valueState: encryptedValueToken`` and a token.
The store is written to ``DIR/cloud/graph.json`` after every change.
"""

from __future__ import annotations

import copy
import datetime
import json
import os
import threading
import uuid
from typing import Any

from . import catalog

SECRET = "#microsoft.graph.deviceManagementConfigurationSecretSettingValue"
_IMMUTABLE = ("platforms", "technologies")


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def _short(odata_type: Any) -> str:
    return str(odata_type or "").lstrip("#").rsplit(".", 1)[-1].replace("deviceManagementConfiguration", "").lower()


def _walk(instances: list[dict]):
    for inst in instances:
        yield inst
        yield from _walk((inst.get("choiceSettingValue") or {}).get("children") or [])
        for group in inst.get("groupSettingCollectionValue") or []:
            yield from _walk(group.get("children") or [])


def validate_settings(settings: list[dict]) -> None:
    for i, item in enumerate(settings or []):
        inst = item.get("settingInstance") if isinstance(item, dict) else None
        if not isinstance(inst, dict):
            raise GraphError(400, "BadRequest", "settings[%d]: settingInstance is required" % i)
        for node in _walk([inst]):
            did = node.get("settingDefinitionId")
            definition = catalog.definition(did)
            if definition is None:
                raise GraphError(400, "BadRequest", "Setting definition with id '%s' was not found." % did)
            kind = _short(node.get("@odata.type"))
            dkind = _short(definition["@odata.type"])
            if kind.replace("instance", "") != dkind.replace("definition", ""):
                raise GraphError(
                    400,
                    "BadRequest",
                    "Setting instance type %s does not match definition %s of '%s'" % (kind, dkind, did),
                )
            if kind == "choicesettinginstance":
                value = (node.get("choiceSettingValue") or {}).get("value")
                if value not in [o["itemId"] for o in definition.get("options") or []]:
                    raise GraphError(400, "BadRequest", "Invalid value '%s' for setting '%s'." % (value, did))
            if kind == "simplesettinginstance":
                value = node.get("simpleSettingValue") or {}
                secret = bool((definition.get("valueDefinition") or {}).get("isSecret"))
                if secret != (_short(value.get("@odata.type")) == "secretsettingvalue"):
                    raise GraphError(
                        400,
                        "BadRequest",
                        "Setting '%s' %s a secret value." % (did, "requires" if secret else "does not accept"),
                    )
                if secret and not value.get("value"):
                    raise GraphError(400, "BadRequest", "Setting '%s' requires a value." % did)


def _hide_secrets(value: Any) -> Any:
    if isinstance(value, list):
        return [_hide_secrets(v) for v in value]
    if isinstance(value, dict):
        out = {k: _hide_secrets(v) for k, v in value.items()}
        if out.get("@odata.type") == SECRET and out.get("value"):
            out["value"] = str(uuid.uuid5(uuid.NAMESPACE_URL, str(value.get("value"))))
            out["valueState"] = "encryptedValueToken"
        return out
    return value


class IntuneStore:
    def __init__(self, path: str | None) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.tenants: dict[str, dict[str, dict]] = {}
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                self.tenants = json.load(fh)

    def _save(self) -> None:
        if not self.path:
            return
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(self.tenants, fh, sort_keys=True, indent=1)
        os.replace(tmp, self.path)

    def policies(self, tenant: str) -> dict[str, dict]:
        return self.tenants.setdefault(tenant, {})

    # ------------------------------------------------------------------ views
    def view(self, policy: dict, expand: set[str]) -> dict:
        out = {k: copy.deepcopy(v) for k, v in policy.items() if k not in ("settings", "assignments")}
        out["@odata.type"] = "#microsoft.graph.deviceManagementConfigurationPolicy"
        tref = out.get("templateReference") or {}
        known = catalog.TEMPLATES.get(tref.get("templateId") or "")
        out["templateReference"] = (
            dict(known)
            if known
            else {
                "templateId": tref.get("templateId") or "",
                "templateFamily": "none",
                "templateDisplayName": None,
                "templateDisplayVersion": None,
            }
        )
        out["settingCount"] = len(policy.get("settings") or [])
        out["isAssigned"] = bool(policy.get("assignments"))
        if "settings" in expand:
            out["settings"] = _hide_secrets(copy.deepcopy(policy.get("settings") or []))
        if "assignments" in expand:
            out["assignments"] = copy.deepcopy(policy.get("assignments") or [])
        return out

    def get(self, tenant: str, pid: str) -> dict:
        policy = self.policies(tenant).get(pid)
        if policy is None:
            raise GraphError(404, "ResourceNotFound", "Resource not found for the segment 'configurationPolicies'.")
        return policy

    # ------------------------------------------------------------------ changes
    def create(self, tenant: str, body: dict) -> dict:
        if not isinstance(body, dict) or not body.get("name"):
            raise GraphError(400, "BadRequest", "The property 'name' is required.")
        settings = body.get("settings") or []
        validate_settings(settings)
        with self.lock:
            pid = str(uuid.uuid4())
            now = _now()
            policy = {
                "id": pid,
                "name": body["name"],
                "description": body.get("description") or "",
                "platforms": body.get("platforms") or "none",
                "technologies": body.get("technologies") or "none",
                "roleScopeTagIds": list(body.get("roleScopeTagIds") or ["0"]),
                "templateReference": {"templateId": (body.get("templateReference") or {}).get("templateId") or ""},
                "createdDateTime": now,
                "lastModifiedDateTime": now,
                "creationSource": None,
                "priorityMetaData": None,
                "settings": [dict(s, id=str(i)) for i, s in enumerate(copy.deepcopy(settings))],
                "assignments": [],
            }
            self.policies(tenant)[pid] = policy
            self._save()
            return policy

    def patch(self, tenant: str, pid: str, body: dict) -> dict:
        with self.lock:
            policy = self.get(tenant, pid)
            for key in ("name", "description", "roleScopeTagIds"):
                if key in body:
                    policy[key] = copy.deepcopy(body[key])
            if "settings" in body:
                raise GraphError(400, "BadRequest", "settings cannot be updated with PATCH.")
            policy["lastModifiedDateTime"] = _now()
            self._save()
            return policy

    def put(self, tenant: str, pid: str, body: dict) -> None:
        with self.lock:
            policy = self.get(tenant, pid)
            for key in _IMMUTABLE:
                if key in body and str(body[key]) != str(policy[key]):
                    raise GraphError(400, "BadRequest", "The property '%s' cannot be changed." % key)
            new_template = (body.get("templateReference") or {}).get("templateId") or ""
            if new_template != (policy.get("templateReference") or {}).get("templateId", ""):
                raise GraphError(400, "BadRequest", "The template of a policy cannot be changed.")
            settings = body.get("settings") or []
            validate_settings(settings)
            policy.update(
                {
                    "name": body.get("name") or policy["name"],
                    "description": body.get("description") or "",
                    "roleScopeTagIds": list(body.get("roleScopeTagIds") or policy["roleScopeTagIds"]),
                    "settings": [dict(s, id=str(i)) for i, s in enumerate(copy.deepcopy(settings))],
                    "lastModifiedDateTime": _now(),
                }
            )
            self._save()

    def delete(self, tenant: str, pid: str) -> None:
        with self.lock:
            self.get(tenant, pid)
            del self.policies(tenant)[pid]
            self._save()

    def assign(self, tenant: str, pid: str, body: dict) -> list[dict]:
        with self.lock:
            policy = self.get(tenant, pid)
            out = []
            for a in (body or {}).get("assignments") or []:
                target = dict(a.get("target") or {})
                if not target.get("@odata.type"):
                    raise GraphError(400, "BadRequest", "assignment target @odata.type is required")
                if "groupAssignmentTarget" in target["@odata.type"] and not target.get("groupId"):
                    raise GraphError(400, "BadRequest", "groupId is required for a group target")
                target.setdefault("deviceAndAppManagementAssignmentFilterId", None)
                target.setdefault("deviceAndAppManagementAssignmentFilterType", "none")
                gid = target.get("groupId") or target["@odata.type"].rsplit(".", 1)[-1]
                out.append(
                    {
                        "@odata.type": "#microsoft.graph.deviceManagementConfigurationPolicyAssignment",
                        "id": "%s_%s" % (pid, gid),
                        "source": "direct",
                        "sourceId": pid,
                        "target": target,
                    }
                )
            policy["assignments"] = out
            policy["lastModifiedDateTime"] = _now()
            self._save()
            return copy.deepcopy(out)
