"""The GroupPolicy module's cmdlets and ``DirectorySearcher`` over the simulated domain (``domain.py``).

Sources: the GroupPolicy module reference (Get-GPO, New-GPO, Remove-GPO, Get-GPInheritance,
New-GPLink, Set-GPLink, Remove-GPLink, Get-/Set-/Remove-GPRegistryValue, Get-/Set-/
Remove-GPPrefRegistryValue, Get-/Set-GPPermission), the ActiveDirectory module reference (Get-ADGroup,
New-ADGroup, Get-ADGroupMember, Add-ADGroupMember, Remove-ADGroupMember) and the DirectorySearcher class
page. Changes are made on the controller the cmdlet runs on and reach the others after the domain's
replication delay (``Domain.commit``); a directory search on a member reads the member's controller
(``domain.view_of``). MODEL: the GroupPolicy and ActiveDirectory modules are present on domain
controllers only. A GPO that does not exist is the ArgumentException
"GpoWithNameNotFound"; the message texts of the module's other errors are not documented and are
modelled (``domain.DomainError``). ``-Domain``/``-Server`` are not modelled.
"""

from __future__ import annotations

import re
from typing import Any

from .. import domain as dom_mod
from . import convert as C
from .commands import CmdletCall, ParamSpec, cmdlet, type_of
from .dotnet import Guid, to_guid
from .errors import PSUnsupported, error
from .types import PSType, register
from .values import AUTOMATION_NULL, NetList, NetObject, is_null

MODULE = "GroupPolicy"
GPO_STATUS = register(
    PSType(
        "Microsoft.GroupPolicy.GpoStatus",
        enum={
            "AllSettingsDisabled": 0,
            "UserSettingsDisabled": 1,
            "ComputerSettingsDisabled": 2,
            "AllSettingsEnabled": 3,
        },
    )
)
ENABLE_LINK = register(PSType("Microsoft.GroupPolicy.EnableLink", enum={"Unspecified": 0, "Yes": 1, "No": 2}))
ENFORCE_LINK = register(PSType("Microsoft.GroupPolicy.EnforceLink", enum={"Unspecified": 0, "Yes": 1, "No": 2}))
HIVE = register(PSType("Microsoft.GroupPolicy.RegistryHive", enum={"LocalMachine": 1, "CurrentUser": 2}))
PREF_ACTION = register(
    PSType("Microsoft.GroupPolicy.PreferenceAction", enum={"Create": 0, "Replace": 1, "Update": 2, "Delete": 3})
)
POLICY_STATE = register(PSType("Microsoft.GroupPolicy.PolicyState", enum={"Set": 0, "Delete": 1}))
_KINDS = {
    "REG_DWORD": "DWord",
    "REG_QWORD": "QWord",
    "REG_SZ": "String",
    "REG_EXPAND_SZ": "ExpandString",
    "REG_MULTI_SZ": "MultiString",
    "REG_BINARY": "Binary",
}


def has_module(host: Any) -> bool:
    """MODEL: domain controllers have the GroupPolicy module (GPMC); other hosts do not."""
    return int(host.os["product_type"]) == 2


def _domain(call: CmdletCall) -> Any:
    dom = dom_mod.domain_of(call.host)
    if dom is None:
        raise error(
            "The specified domain either does not exist or could not be contacted.",
            "System.ArgumentException,Microsoft.GroupPolicy.Commands.%sCommand" % call.name.replace("-", ""),
            exc_type="System.ArgumentException",
            category="InvalidArgument",
        )
    return dom


def _fail(call: CmdletCall, exc: dom_mod.DomainError, category: str = "InvalidOperation") -> None:
    call.error(
        call.record(str(exc), "System.Runtime.InteropServices.COMException", category, exc_type="System.Exception")
    )


def _gpo_of(call: CmdletCall, dom: Any) -> dict | None:
    """The GPO named by -Name or -Guid; writes GpoWithNameNotFound / GpoWithIdNotFound when missing."""
    if call.p.get("guid") is not None:
        gpo = dom.gpos.get(dom_mod.norm_guid(call.p["guid"].ps_to_string()))
        if gpo is None:
            call.error(
                call.record(
                    "A GPO with ID {%s} was not found in the %s domain." % (call.p["guid"].ps_to_string(), dom.name),
                    "GpoWithIdNotFound",
                    "ObjectNotFound",
                    exc_type="System.ArgumentException",
                    target=call.p["guid"],
                )
            )
        return gpo
    name = call.p["name"]
    gpo = dom.gpo_by_name(name)
    if gpo is None:
        call.error(
            call.record(
                'A GPO with the display name "%s" could not be found in the %s domain.' % (name, dom.name),
                "GpoWithNameNotFound",
                "ObjectNotFound",
                exc_type="System.ArgumentException",
                target=name,
            )
        )
    return gpo


def _key(text: str) -> str:
    key = dom_mod.norm_key(text)
    if not key.upper().startswith("HKLM\\"):
        raise PSUnsupported("", 0, "Group Policy registry keys outside HKLM (%s)" % text)
    return key


class Gpo(NetObject):
    TYPE_NAMES = ("Microsoft.GroupPolicy.Gpo", "System.Object")

    def __init__(self, dom: Any, gpo: dict, host: Any = None) -> None:
        self.dom = dom
        self.gpo = gpo
        self.host = host

    def p_id(self) -> Guid:
        return to_guid(self.gpo["id"])

    def p_displayname(self) -> str:
        return str(self.gpo["name"])

    def p_description(self) -> str:
        return str(self.gpo.get("comment") or "")

    def set_description(self, value: Any) -> None:
        with self.dom.lock:
            self.dom.set_comment(self.gpo["name"], "" if is_null(value) else C.to_string(value))
            self.dom.commit(self.host)

    def p_gpostatus(self) -> Any:
        return GPO_STATUS.enum_value(self.gpo.get("status", "AllSettingsEnabled"))

    def p_domainname(self) -> str:
        return str(self.dom.name)

    def p_computer(self) -> GpoVersion:
        return GpoVersion(int(self.gpo.get("version", 0)))


class GpoVersion(NetObject):
    TYPE_NAMES = ("Microsoft.GroupPolicy.ComputerConfiguration", "System.Object")

    def __init__(self, version: int) -> None:
        self.version = version

    def p_dsversion(self) -> int:
        return self.version

    def p_sysvolversion(self) -> int:
        return self.version


class GpoLink(NetObject):
    TYPE_NAMES = ("Microsoft.GroupPolicy.GpoLink", "System.Object")

    def __init__(self, gpo_id: str, name: str, enabled: bool, enforced: bool, order: int, target: str) -> None:
        self.values = (gpo_id, name, enabled, enforced, order, target)

    def p_gpoid(self) -> Guid:
        return to_guid(self.values[0])

    def p_displayname(self) -> str:
        return self.values[1]

    def p_enabled(self) -> bool:
        return self.values[2]

    def p_enforced(self) -> bool:
        return self.values[3]

    def p_order(self) -> int:
        return self.values[4]

    def p_target(self) -> str:
        return self.values[5]


class Som(NetObject):
    TYPE_NAMES = ("Microsoft.GroupPolicy.Som", "System.Object")

    def __init__(self, dom: Any, dn: str) -> None:
        self.dom = dom
        self.dn = dn

    def p_gpoinheritanceblocked(self) -> bool:
        return bool(self.dom.blocks_inheritance(self.dn))

    def p_gpolinks(self) -> list:
        out = []
        for order, link in enumerate(self.dom.links_on(self.dn), start=1):
            gpo = self.dom.gpos.get(link["gpo_id"]) or {}
            out.append(
                GpoLink(
                    link["gpo_id"],
                    gpo.get("name", ""),
                    link["enabled"],
                    link["enforced"],
                    order,
                    dom_mod.norm_dn(self.dn),
                )
            )
        return out

    def p_inheritedgpolinks(self) -> list:
        return [
            GpoLink(lk["gpo_id"], lk["display_name"], lk["enabled"], lk["enforced"], lk["order"], lk["target"])
            for lk in self.dom.inherited_links(self.dn)
        ]

    def p_path(self) -> str:
        return dom_mod.norm_dn(self.dn)


class RegistrySetting(NetObject):
    """A Registry.pol value (PolicyRegistrySetting) or a preference item (PreferenceRegistrySetting)."""

    def __init__(self, item: dict, preference: bool) -> None:
        self.item = item
        self.preference = preference
        self.TYPE_NAMES = (  # type: ignore[misc]
            "Microsoft.GroupPolicy.PreferenceRegistrySetting"
            if preference
            else "Microsoft.GroupPolicy.PolicyRegistrySetting",
            "Microsoft.GroupPolicy.RegistrySetting",
            "System.Object",
        )

    def p_hive(self) -> Any:
        return HIVE.enum_value("LocalMachine")

    def p_keypath(self) -> str:
        return dom_mod.norm_key(self.item["key"]).partition("\\")[2]

    def p_fullkeypath(self) -> str:
        return "HKEY_LOCAL_MACHINE\\" + self.p_keypath()

    def p_valuename(self) -> str:
        return str(self.item["value_name"])

    def p_type(self) -> Any:
        from .win_registry import REGISTRY_VALUE_KIND

        return REGISTRY_VALUE_KIND.enum_value(_KINDS.get(self.item["type"], "String"))

    def p_value(self) -> Any:
        return self.item["value"]

    def p_action(self) -> Any:
        if not self.preference:
            raise KeyError("action")
        return PREF_ACTION.enum_value(self.item.get("action", "update").capitalize())

    def p_order(self) -> int:
        if not self.preference:
            raise KeyError("order")
        return int(self.item.get("order") or 1)

    def p_disableddirectly(self) -> bool:
        if not self.preference:
            raise KeyError("disableddirectly")
        return bool(self.item.get("disabled"))

    def p_policystate(self) -> Any:
        if self.preference:
            raise KeyError("policystate")
        return POLICY_STATE.enum_value("Set")


def _guid_or_name() -> list[ParamSpec]:
    return [
        ParamSpec("Guid", type_of("guid"), aliases=("Id",)),
        ParamSpec("Name", type_of("string"), position=0, aliases=("DisplayName",)),
    ]


def _gp(name: str, params: list[ParamSpec], **kw: Any) -> Any:
    return cmdlet(
        name,
        params,
        available=has_module,
        module=MODULE,
        class_name="Microsoft.GroupPolicy.Commands.%sCommand" % name.replace("-", ""),
        **kw,
    )


@_gp("Get-GPO", _guid_or_name(), exclusive=[("guid", "name")], one_of=[("guid", "name")])
def get_gpo(call: CmdletCall) -> None:
    dom = _domain(call)
    gpo = _gpo_of(call, dom)
    if gpo is not None:
        call.write(Gpo(dom, gpo, call.host))


@_gp(
    "New-GPO",
    [ParamSpec("Name", type_of("string"), mandatory=True, position=0), ParamSpec("Comment", type_of("string"))],
    should_process=True,
)
def new_gpo(call: CmdletCall) -> None:
    dom = _domain(call)
    with dom.lock:
        try:
            gpo = dom.new_gpo(call.p["name"], call.p["comment"] or "")
        except dom_mod.DomainError as exc:
            _fail(call, exc, "ResourceExists")
            return
        dom.commit(call.host)
    call.write(Gpo(dom, gpo, call.host))


@_gp("Remove-GPO", _guid_or_name(), exclusive=[("guid", "name")], one_of=[("guid", "name")], should_process=True)
def remove_gpo(call: CmdletCall) -> None:
    dom = _domain(call)
    with dom.lock:
        gpo = _gpo_of(call, dom)
        if gpo is not None:
            dom.remove_gpo(gpo["name"])
            dom.commit(call.host)


@_gp("Get-GPInheritance", [ParamSpec("Target", type_of("string"), mandatory=True, position=0, aliases=("Path",))])
def get_gp_inheritance(call: CmdletCall) -> None:
    dom = _domain(call)
    target = call.p["target"]
    if not dom.ou_exists(target):
        call.error(
            call.record(
                'The "%s" container does not exist in the %s domain.' % (target, dom.name),
                "System.ArgumentException",
                "InvalidArgument",
                exc_type="System.ArgumentException",
                target=target,
            )
        )
        return
    call.write(Som(dom, target))


def _yes_no(value: Any) -> bool | None:
    if is_null(value):
        return None
    return ENABLE_LINK.enum_convert(value).name == "Yes"


_LINK_PARAMS = [
    ParamSpec("Guid", type_of("guid"), aliases=("Id",)),
    ParamSpec("Name", type_of("string"), aliases=("DisplayName",)),
    ParamSpec("Target", type_of("string"), mandatory=True, position=1, aliases=("Path",)),
    ParamSpec("LinkEnabled", type_of("string"), validate_set=["Unspecified", "Yes", "No"]),
    ParamSpec("Enforced", type_of("string"), validate_set=["Unspecified", "Yes", "No"]),
]


@_gp("New-GPLink", _LINK_PARAMS, exclusive=[("guid", "name")], one_of=[("guid", "name")], should_process=True)
def new_gp_link(call: CmdletCall) -> None:
    _link(call, "new")


@_gp("Set-GPLink", _LINK_PARAMS, exclusive=[("guid", "name")], one_of=[("guid", "name")], should_process=True)
def set_gp_link(call: CmdletCall) -> None:
    _link(call, "set")


def _link(call: CmdletCall, op: str) -> None:
    dom = _domain(call)
    with dom.lock:
        gpo = _gpo_of(call, dom)
        if gpo is None:
            return
        enabled, enforced = _yes_no(call.p["linkenabled"]), _yes_no(call.p["enforced"])
        try:
            if op == "new":
                dom.new_link(gpo["name"], call.p["target"], True if enabled is None else enabled, bool(enforced))
            else:
                current = next((lk for lk in dom.links_on(call.p["target"]) if lk["gpo_id"] == gpo["id"]), None)
                dom.set_link(
                    gpo["name"],
                    call.p["target"],
                    current["enabled"] if enabled is None and current else bool(enabled),
                    current["enforced"] if enforced is None and current else bool(enforced),
                )
        except dom_mod.DomainError as exc:
            _fail(call, exc)
            return
        dom.commit(call.host)


@_gp(
    "Remove-GPLink",
    [
        ParamSpec("Guid", type_of("guid"), aliases=("Id",)),
        ParamSpec("Name", type_of("string"), aliases=("DisplayName",)),
        ParamSpec("Target", type_of("string"), mandatory=True, position=1, aliases=("Path",)),
    ],
    exclusive=[("guid", "name")],
    one_of=[("guid", "name")],
    should_process=True,
)
def remove_gp_link(call: CmdletCall) -> None:
    dom = _domain(call)
    with dom.lock:
        gpo = _gpo_of(call, dom)
        if gpo is None:
            return
        try:
            dom.remove_link(gpo["name"], call.p["target"])
        except dom_mod.DomainError as exc:
            _fail(call, exc)
            return
        dom.commit(call.host)


def _value_params(extra: list[ParamSpec]) -> list[ParamSpec]:
    return [
        *_guid_or_name(),
        ParamSpec("Key", type_of("string"), mandatory=True),
        ParamSpec("ValueName", array_of_string()),
        *extra,
    ]


def array_of_string() -> Any:
    from .commands import array_of

    return array_of("string")


def _read_settings(call: CmdletCall, preference: bool) -> None:
    dom = _domain(call)
    gpo = _gpo_of(call, dom)
    if gpo is None:
        return
    key = _key(call.p["key"])
    names = call.p["valuename"]
    if not names:
        raise PSUnsupported("", 0, "%s without -ValueName" % call.name)
    found = []
    for name in names:
        items = dom.preferences(gpo["name"], key, name) if preference else dom.policies(gpo["name"], key, name)
        found.extend(RegistrySetting(i, preference) for i in items)
    if not found:
        call.error(
            call.record(
                "The following key or value was not found in the %s of the GPO: %s\\%s."
                % ("Group Policy Preferences" if preference else "registry settings", call.p["key"], ", ".join(names)),
                "UnableToRetrievePolicyRegistryItem" if not preference else "UnableToRetrievePreferenceRegistryItem",
                "InvalidArgument",
                exc_type="System.ArgumentException",
            )
        )
        return
    call.out.extend(found)


def _context() -> ParamSpec:
    return ParamSpec("Context", type_of("string"), mandatory=True, validate_set=["User", "Computer"])


@_gp("Get-GPRegistryValue", _value_params([]), exclusive=[("guid", "name")], one_of=[("guid", "name")])
def get_gp_registry_value(call: CmdletCall) -> None:
    _read_settings(call, preference=False)


@_gp("Get-GPPrefRegistryValue", _value_params([_context()]), exclusive=[("guid", "name")], one_of=[("guid", "name")])
def get_gp_pref_registry_value(call: CmdletCall) -> None:
    if call.p["context"].lower() != "computer":
        raise PSUnsupported("", 0, "Group Policy preferences of the User context")
    _read_settings(call, preference=True)


def _typed_value(call: CmdletCall) -> tuple[str, Any]:
    from .win_registry import REG_TYPES

    kind = call.p["type"]
    rtype = REG_TYPES.get(str(kind).lower())
    if rtype is None:
        raise PSUnsupported("", 0, "%s -Type %s" % (call.name, kind))
    value = call.p["value"]
    if rtype == "REG_DWORD":
        value = C.to_integer(value)
    elif rtype in ("REG_SZ", "REG_EXPAND_SZ"):
        value = C.to_string(value)
    else:
        raise PSUnsupported("", 0, "%s -Type %s" % (call.name, kind))
    return rtype, value


def _kind_param() -> ParamSpec:
    return ParamSpec(
        "Type", type_of("string"), validate_set=["String", "ExpandString", "Binary", "DWord", "MultiString", "QWord"]
    )


@_gp(
    "Set-GPRegistryValue",
    _value_params([_kind_param(), ParamSpec("Value", type_of("object"))]),
    exclusive=[("guid", "name")],
    one_of=[("guid", "name")],
)
def set_gp_registry_value(call: CmdletCall) -> None:
    _set_value(call, preference=False)


@_gp(
    "Set-GPPrefRegistryValue",
    _value_params(
        [
            _context(),
            _kind_param(),
            ParamSpec("Value", type_of("object")),
            ParamSpec(
                "Action", type_of("string"), mandatory=True, validate_set=["Create", "Replace", "Update", "Delete"]
            ),
        ]
    ),
    exclusive=[("guid", "name")],
    one_of=[("guid", "name")],
)
def set_gp_pref_registry_value(call: CmdletCall) -> None:
    if call.p["context"].lower() != "computer":
        raise PSUnsupported("", 0, "Group Policy preferences of the User context")
    _set_value(call, preference=True)


def _set_value(call: CmdletCall, preference: bool) -> None:
    dom = _domain(call)
    names = call.p["valuename"] or []
    if len(names) != 1:
        raise PSUnsupported("", 0, "%s with %d value names" % (call.name, len(names)))
    with dom.lock:
        gpo = _gpo_of(call, dom)
        if gpo is None:
            return
        rtype, value = _typed_value(call)
        key = _key(call.p["key"])
        if preference:
            dom.add_preference(gpo["name"], key, names[0], rtype, value, call.p["action"].lower())
        else:
            dom.set_policy(gpo["name"], key, names[0], rtype, value)
        dom.commit(call.host)
    call.write(Gpo(dom, gpo, call.host))


@_gp("Remove-GPRegistryValue", _value_params([]), exclusive=[("guid", "name")], one_of=[("guid", "name")])
def remove_gp_registry_value(call: CmdletCall) -> None:
    _remove_value(call, preference=False)


@_gp("Remove-GPPrefRegistryValue", _value_params([_context()]), exclusive=[("guid", "name")], one_of=[("guid", "name")])
def remove_gp_pref_registry_value(call: CmdletCall) -> None:
    if call.p["context"].lower() != "computer":
        raise PSUnsupported("", 0, "Group Policy preferences of the User context")
    _remove_value(call, preference=True)


def _remove_value(call: CmdletCall, preference: bool) -> None:
    dom = _domain(call)
    with dom.lock:
        gpo = _gpo_of(call, dom)
        if gpo is None:
            return
        key = _key(call.p["key"])
        for name in call.p["valuename"] or []:
            try:
                if preference:
                    dom.remove_preference(gpo["name"], key, name)
                else:
                    dom.remove_policy(gpo["name"], key, name)
            except dom_mod.DomainError as exc:
                _fail(call, exc)
                return
        dom.commit(call.host)
    call.write(Gpo(dom, gpo, call.host))


# ---------------------------------------------------------------------------- DirectorySearcher
class StringCollection(NetObject):
    TYPE_NAMES = ("System.Collections.Specialized.StringCollection", "System.Object")

    def __init__(self) -> None:
        self.items: list[str] = []

    def m_add(self, ctx: Any, value: Any) -> int:
        self.items.append(C.to_string(value))
        return len(self.items) - 1


class ResultProperties(NetObject):
    TYPE_NAMES = ("System.DirectoryServices.ResultPropertyCollection", "System.Object")

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = {k.lower(): v for k, v in values.items()}

    def ps_index(self, name: Any) -> list:
        value = self.values.get(C.to_string(name).lower())
        if isinstance(value, list):  # a multi-valued attribute (memberOf)
            return NetList(list(value))
        return NetList([] if value is None else [value])


class SearchResult(NetObject):
    TYPE_NAMES = ("System.DirectoryServices.SearchResult", "System.Object")

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def p_properties(self) -> ResultProperties:
        return ResultProperties(self.values)


class SearchResultCollection(NetObject):
    TYPE_NAMES = ("System.DirectoryServices.SearchResultCollection", "System.Object")

    def __init__(self, results: list[SearchResult]) -> None:
        self.results = results

    def ps_items(self) -> list:
        return list(self.results)

    def p_count(self) -> int:
        return len(self.results)

    def m_dispose(self, ctx: Any) -> Any:
        return AUTOMATION_NULL


_GPLINK_FILTER = re.compile(r"^\(gPLink=\*([^*()]+)\*\)$", re.I)


class DirectorySearcher(NetObject):
    TYPE_NAMES = ("System.DirectoryServices.DirectorySearcher", "System.Object")

    def __init__(self, ctx: Any, filter_text: str) -> None:
        self.ctx = ctx
        self.filter = filter_text
        self.load = StringCollection()

    def p_propertiestoload(self) -> StringCollection:
        return self.load

    def m_findall(self, ctx: Any) -> SearchResultCollection:
        # A serverless search binds to the controller the computer uses (its view of the domain).
        dom = dom_mod.view_of(ctx.rs.host)
        if dom is None:
            raise error(
                "The specified domain either does not exist or could not be contacted.",
                "COMException",
                exc_type="System.Exception",
            )
        gpc = _GPC_FILTER.match(self.filter)
        if gpc:
            return self._find_gpc(dom, dom_mod.norm_guid(gpc.group(1)))
        computer = _COMPUTER_FILTER.match(self.filter)
        if computer:
            return self._find_computer(ctx, dom, computer.group(1))
        m = _GPLINK_FILTER.match(self.filter)
        if not m:
            raise PSUnsupported("", 0, "a DirectorySearcher filter other than (gPLink=*…*) or a GPC: %s" % self.filter)
        needle = m.group(1).lower()
        results = []
        for som in sorted(set(dom.state["links"]) | {dom.root}, key=str.lower):
            gplink = dom.gplink(som)
            if needle in gplink.lower():
                props = {"adspath": "LDAP://" + som}
                for name in self.load.items:
                    low = name.lower()
                    if low == "distinguishedname":
                        props[low] = som
                    elif low == "gplink":
                        props[low] = gplink
                    else:
                        raise PSUnsupported("", 0, "DirectorySearcher property %s" % name)
                results.append(SearchResult(props))
        return SearchResultCollection(results)

    def _find_gpc(self, dom: Any, gpo_id: str) -> SearchResultCollection:
        """The groupPolicyContainer of a GPO: versionNumber = user version << 16 | computer version
        (MS-GPOL 2.2.4); the model's GPOs have user version 0."""
        gpo = dom.gpos.get(gpo_id)
        if gpo is None:
            return SearchResultCollection([])
        dn = "CN={%s},CN=Policies,CN=System,%s" % (gpo_id, dom.root)
        props: dict[str, Any] = {"adspath": "LDAP://" + dn}
        for name in self.load.items:
            low = name.lower()
            if low == "distinguishedname":
                props[low] = dn
            elif low == "versionnumber":
                props[low] = int(gpo.get("version", 0)) & 0xFFFF
            elif low == "displayname":
                props[low] = gpo["name"]
            else:
                raise PSUnsupported("", 0, "DirectorySearcher property %s of a groupPolicyContainer" % name)
        return SearchResultCollection([SearchResult(props)])

    def _find_computer(self, ctx: Any, dom: Any, account: str) -> SearchResultCollection:
        """A computer object: its distinguishedName and memberOf (the groups it is in on this controller)."""
        account = account.upper()
        dn = discover_computers(ctx.rs.host, dom).get(account)
        if dn is None:
            return SearchResultCollection([])
        groups = [
            str(group["dn"])
            for name, group in sorted((dom.state.get("groups") or {}).items())
            if account.lower() in {a.lower() for a in dom.group_members(name)}
        ]
        props: dict[str, Any] = {"adspath": "LDAP://" + dn}
        for name in self.load.items:
            low = name.lower()
            if low == "distinguishedname":
                props[low] = dn
            elif low == "memberof":
                props[low] = groups
            else:
                raise PSUnsupported("", 0, "DirectorySearcher property %s of a computer" % name)
        return SearchResultCollection([SearchResult(props)])


_COMPUTER_FILTER = re.compile(r"^\(&\(objectClass=computer\)\(sAMAccountName=([^()*]+\$)\)\)$", re.I)
_GPC_FILTER = re.compile(r"^\(&\(objectClass=groupPolicyContainer\)\(cn=\{?([0-9a-fA-F-]{36})\}?\)\)$", re.I)


def _new_searcher(ctx: Any, *args: Any) -> DirectorySearcher:
    if len(args) != 1:
        raise PSUnsupported("", 0, "DirectorySearcher constructor with %d arguments" % len(args))
    return DirectorySearcher(ctx, C.to_string(args[0]))


register(PSType("System.DirectoryServices.DirectorySearcher", new=_new_searcher))


# ---------------------------------------------------------------------------- GPO permissions
PERMISSION = register(
    PSType(
        "Microsoft.GroupPolicy.GPPermissionType",
        enum={
            "None": 0,
            "GpoApply": 65536,
            "GpoRead": 65792,
            "GpoEdit": 65793,
            "GpoEditDeleteModifySecurity": 65794,
            "GpoCustom": 65795,
            "WmiFilterEdit": 131072,
            "WmiFilterFullControl": 131073,
            "WmiFilterCustom": 131074,
            "StarterGpoRead": 197888,
            "StarterGpoEdit": 197889,
            "StarterGpoFullControl": 197890,
            "StarterGpoCustom": 197891,
            "SomCreateWmiFilter": 1049344,
            "SomWmiFilterFullControl": 1049345,
            "SomCreateGpo": 1049600,
            "SomCreateStarterGpo": 1049856,
            "SomLogging": 1573120,
            "SomPlanning": 1573376,
            "SomLink": 1835008,
        },
    )
)
_TRUSTEE_TYPES = ["Computer", "User", "Group"]


class Trustee(NetObject):
    TYPE_NAMES = ("Microsoft.GroupPolicy.GPTrustee", "System.Object")

    def __init__(self, name: str, domain: str, sid_type: str) -> None:
        self.values = (name, domain, sid_type)

    def p_name(self) -> str:
        return self.values[0]

    def p_domain(self) -> str:
        return self.values[1]

    def p_sidtype(self) -> str:
        return self.values[2]


class GPPermission(NetObject):
    TYPE_NAMES = ("Microsoft.GroupPolicy.GPPermission", "System.Object")

    def __init__(self, trustee: Trustee, level: str) -> None:
        self.trustee = trustee
        self.level = level

    def p_trustee(self) -> Trustee:
        return self.trustee

    def p_permission(self) -> Any:
        return PERMISSION.enum_value(self.level)

    def p_denied(self) -> bool:
        return False

    def p_inherited(self) -> bool:
        return False


def _trustee_obj(dom: Any, name: str) -> Trustee:
    short = str(name).rsplit("\\", maxsplit=1)[-1]
    if short.lower() == "authenticated users":
        return Trustee("Authenticated Users", "NT AUTHORITY", "WellKnownGroup")
    return Trustee(short, dom.netbios, "Computer" if short.endswith("$") else "Group")


def _resolve_trustee(call: CmdletCall, dom: Any) -> str | None:
    """The trustee -TargetName/-TargetType name, or None after writing the cmdlet's error."""
    name, kind = call.p["targetname"], call.p["targettype"]
    short = str(name).rsplit("\\", maxsplit=1)[-1]
    if kind == "Group" and short.lower() in ("authenticated users", "domain computers"):
        return short
    if kind == "Group" and dom.group(short) is not None:
        return short
    if kind == "Computer" and short.rstrip("$").upper() + "$" in discover_computers(call.host, dom):
        return short.rstrip("$").upper() + "$"
    call.error(
        call.record(
            "The trustee %s could not be found in the %s domain." % (name, dom.name),
            "System.ArgumentException",
            "InvalidArgument",
            exc_type="System.ArgumentException",
            target=name,
        )
    )
    return None


def _permission_params(extra: list[ParamSpec]) -> list[ParamSpec]:
    return [
        *_guid_or_name(),
        ParamSpec("TargetName", type_of("string")),
        ParamSpec("TargetType", type_of("string"), validate_set=_TRUSTEE_TYPES),
        *extra,
    ]


@_gp(
    "Get-GPPermission",
    _permission_params([ParamSpec("All", type_of("switch"))]),
    exclusive=[("guid", "name"), ("all", "targetname")],
    one_of=[("guid", "name"), ("all", "targetname")],
)
def get_gp_permission(call: CmdletCall) -> None:
    dom = _domain(call)
    gpo = _gpo_of(call, dom)
    if gpo is None:
        return
    if call.p.get("all"):
        # MODEL: the defaults of a new GPO that this model does not change are listed as they are.
        rows = [
            ("ENTERPRISE DOMAIN CONTROLLERS", "GpoRead"),
            ("Domain Admins", "GpoEditDeleteModifySecurity"),
            ("Enterprise Admins", "GpoEditDeleteModifySecurity"),
            ("SYSTEM", "GpoEditDeleteModifySecurity"),
        ]
        rows += [(t, "GpoApply") for t in gpo.get("security_filter") or []]
        rows += [(t, "GpoRead") for t in gpo.get("read_only") or []]
        for name, level in rows:
            call.write(GPPermission(_trustee_obj(dom, name), level))
        return
    if not call.given("targettype"):
        raise PSUnsupported("", 0, "Get-GPPermission -TargetName without -TargetType")
    trustee = _resolve_trustee(call, dom)
    if trustee is None:
        return
    level = dom.permission_of(gpo["name"], trustee)
    if level == "None":
        call.error(
            call.record(
                "The permissions for the trustee %s on GPO %s could not be found." % (trustee, gpo["name"]),
                "System.ArgumentException",
                "InvalidArgument",
                exc_type="System.ArgumentException",
                target=trustee,
            )
        )
        return
    call.write(GPPermission(_trustee_obj(dom, trustee), level))


@_gp(
    "Set-GPPermission",
    _permission_params(
        [
            ParamSpec("PermissionLevel", type_of("string"), mandatory=True, validate_set=list(PERMISSION.enum)),
            ParamSpec("Replace", type_of("switch")),
        ]
    ),
    exclusive=[("guid", "name")],
    one_of=[("guid", "name"), ("targetname",), ("targettype",)],
    should_process=True,
)
def set_gp_permission(call: CmdletCall) -> None:
    dom = _domain(call)
    level = str(call.p["permissionlevel"])
    if level not in ("None", "GpoRead", "GpoApply"):
        raise PSUnsupported("", 0, "Set-GPPermission -PermissionLevel %s" % level)
    with dom.lock:
        gpo = _gpo_of(call, dom)
        if gpo is None:
            return
        trustee = _resolve_trustee(call, dom)
        if trustee is None:
            return
        if level == "None" and not call.p.get("replace"):
            call.error(
                call.record(
                    "The Replace parameter must be specified to remove permissions (PermissionLevel None).",
                    "System.ArgumentException",
                    "InvalidArgument",
                    exc_type="System.ArgumentException",
                )
            )
            return
        dom.set_permission(gpo["name"], trustee, level, bool(call.p.get("replace")))
        dom.commit(call.host)
    call.write(GPPermission(_trustee_obj(dom, trustee), dom.permission_of(gpo["name"], trustee)))


# ---------------------------------------------------------------------------- ActiveDirectory groups
AD_MODULE = "ActiveDirectory"


def _ad(name: str, params: list[ParamSpec], **kw: Any) -> Any:
    return cmdlet(
        name,
        params,
        available=has_module,
        module=AD_MODULE,
        class_name="Microsoft.ActiveDirectory.Management.Commands.%s" % name.replace("-", ""),
        **kw,
    )


def discover_computers(host: Any, dom: Any) -> dict[str, str]:
    """The computer accounts of the domain (``NAME$`` -> DN): the joined hosts of the fleet."""
    return dom_mod.discover_computers(host.state_dir, dom)


class ADPrincipal(NetObject):
    TYPE_NAMES = ("Microsoft.ActiveDirectory.Management.ADPrincipal", "System.Object")

    def __init__(self, name: str, sam: str, dn: str, object_class: str) -> None:
        self.values = (name, sam, dn, object_class)

    def p_name(self) -> str:
        return self.values[0]

    def p_samaccountname(self) -> str:
        return self.values[1]

    def p_distinguishedname(self) -> str:
        return self.values[2]

    def p_objectclass(self) -> str:
        return self.values[3]


def _identity_error(call: CmdletCall, dom: Any, identity: str) -> None:
    call.error(
        call.record(
            "Cannot find an object with identity: '%s' under: '%s'." % (identity, dom.root),
            "ActiveDirectoryCmdlet:Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException",
            "ObjectNotFound",
            exc_type="Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException",
            target=identity,
        )
    )


def _group_of(call: CmdletCall, dom: Any) -> dict | None:
    identity = call.p["identity"]
    group = dom.group(str(identity))
    if group is None:
        _identity_error(call, dom, str(identity))
    return group


def _group_principal(dom: Any, name: str) -> ADPrincipal:
    group = dom.group(name) or {}
    real = next(g for g in dom.state["groups"] if g.lower() == name.lower())
    return ADPrincipal(real, real, str(group.get("dn")), "group")


@_ad("Get-ADGroup", [ParamSpec("Identity", type_of("string"), mandatory=True, position=0)])
def get_ad_group(call: CmdletCall) -> None:
    dom = _domain(call)
    if _group_of(call, dom) is not None:
        call.write(_group_principal(dom, call.p["identity"]))


@_ad(
    "New-ADGroup",
    [
        ParamSpec("Name", type_of("string"), mandatory=True, position=0),
        ParamSpec("GroupScope", type_of("string"), mandatory=True, validate_set=["DomainLocal", "Global", "Universal"]),
        ParamSpec("GroupCategory", type_of("string"), validate_set=["Distribution", "Security"]),
        ParamSpec("Path", type_of("string")),
        ParamSpec("Description", type_of("string")),
        ParamSpec("PassThru", type_of("switch")),
    ],
    should_process=True,
)
def new_ad_group(call: CmdletCall) -> None:
    dom = _domain(call)
    if (call.p.get("groupcategory") or "Security") != "Security":
        raise PSUnsupported("", 0, "New-ADGroup -GroupCategory Distribution")
    with dom.lock:
        if call.given("path") and not dom.ou_exists(call.p["path"]):
            _identity_error(call, dom, call.p["path"])
            return
        try:
            dom.new_group(call.p["name"], call.p.get("path"), call.p.get("description") or "")
        except dom_mod.DomainError as exc:
            _fail(call, exc, "ResourceExists")
            return
        dom.commit(call.host)
    if call.p.get("passthru"):
        call.write(_group_principal(dom, call.p["name"]))


@_ad("Get-ADGroupMember", [ParamSpec("Identity", type_of("string"), mandatory=True, position=0)])
def get_ad_group_member(call: CmdletCall) -> None:
    dom = _domain(call)
    if _group_of(call, dom) is None:
        return
    computers = discover_computers(call.host, dom)
    for account in dom.group_members(call.p["identity"]):
        call.write(ADPrincipal(account.rstrip("$"), account, computers.get(account, ""), "computer"))


def _members_params() -> list[ParamSpec]:
    return [
        ParamSpec("Identity", type_of("string"), mandatory=True, position=0),
        ParamSpec("Members", array_of_string(), mandatory=True, position=1),
    ]


def _member_accounts(call: CmdletCall, dom: Any) -> list[str] | None:
    computers = discover_computers(call.host, dom)
    out = []
    for member in call.p["members"]:
        account = str(member).rsplit("\\", maxsplit=1)[-1].upper()
        account = account if account.endswith("$") else account + "$"
        if account not in computers:
            _identity_error(call, dom, str(member))
            return None
        out.append(account)
    return out


@_ad("Add-ADGroupMember", _members_params(), should_process=True)
def add_ad_group_member(call: CmdletCall) -> None:
    dom = _domain(call)
    with dom.lock:
        if _group_of(call, dom) is None:
            return
        accounts = _member_accounts(call, dom)
        if accounts is None:
            return
        dom.add_group_members(call.p["identity"], accounts, call.host.now(), dom_mod.dc_of(call.host))
        dom.commit(call.host)


@_ad("Remove-ADGroupMember", _members_params(), should_process=True)
def remove_ad_group_member(call: CmdletCall) -> None:
    dom = _domain(call)
    with dom.lock:
        if _group_of(call, dom) is None:
            return
        accounts = _member_accounts(call, dom)
        if accounts is None:
            return
        dom.remove_group_members(call.p["identity"], accounts, call.host.now())
        dom.commit(call.host)
