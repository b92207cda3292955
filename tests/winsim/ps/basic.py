"""``Ansible.Basic.AnsibleModule`` modelled in Python, after ansible-core's Ansible.Basic.cs.

Argument-spec validation follows the C# code rule by rule (spec keys and their types, defaults,
aliases, ``no_log``, the ``_ansible_*`` options, unsupported parameters, check mode, mutually
exclusive / required / required_together / required_one_of / required_if / required_by, type
conversion with the C# parsers, choices, nested ``options`` and list ``elements``) with the same
messages. ``ExitJson``/``FailJson`` write the result as 5.1's ``ConvertTo-Json -Compress`` and end
the module (``exit``); ``Tmpdir`` is created on the simulated host and removed at exit.
Not modelled: the Application event log entries (``LogEvent``) and ``sid`` options.
"""

from __future__ import annotations

import ntpath
import random
from typing import Any

from . import convert as C
from .errors import ErrorRecord, ExitSignal, PSUnsupported, error
from .jsonps import from_json, to_json
from .types import PSType, register
from .values import AUTOMATION_NULL, EnumValue, Hashtable, NetList, NetObject, PSCustomObject, is_null

BOOLEANS_TRUE = ["y", "yes", "on", "1", "true", "t", "1.0"]
BOOLEANS_FALSE = ["n", "no", "off", "0", "false", "f", "0.0"]
PASS_VARS = {
    "check_mode": "CheckMode", "debug": "DebugMode", "diff": "DiffMode", "keep_remote_files": "KeepRemoteFiles",
    "ignore_unknown_opts": "ignoreUnknownOpts", "inject_invocation": "injectInvocation", "module_name": "ModuleName",
    "no_log": "NoLog", "remote_tmp": "remoteTmp", "selinux_special_fs": None, "shell_executable": None,
    "socket": None, "syslog_facility": None, "target_log_info": "TargetLogInfo", "tracebacks_for": "_tracebacksFor",
    "tmpdir": "tmpdir", "verbosity": "Verbosity", "version": "AnsibleVersion",
}  # fmt: skip
PASS_BOOLS = {"check_mode", "debug", "diff", "keep_remote_files", "ignore_unknown_opts", "inject_invocation", "no_log"}
#: spec key → (default, expected kind): kinds are bool, list:<element>, hashtable, str, date, any.
SPEC_DEFAULTS: dict[str, tuple[Any, str]] = {
    "apply_defaults": (False, "bool"),
    "aliases": ([], "list:str"),
    "choices": ([], "list:object"),
    "default": (None, "any"),
    "deprecated_aliases": ([], "list:hashtable"),
    "elements": (None, "any"),
    "mutually_exclusive": ([], "list:list"),
    "no_log": (False, "bool"),
    "options": ("hashtable", "hashtable"),
    "removed_in_version": (None, "str"),
    "removed_at_date": (None, "date"),
    "removed_from_collection": (None, "str"),
    "required": (False, "bool"),
    "required_by": ("hashtable", "hashtable"),
    "required_if": ([], "list:list"),
    "required_one_of": ([], "list:list"),
    "required_together": ([], "list:list"),
    "supports_check_mode": (False, "bool"),
    "type": ("str", "any"),
}
_KIND_NAMES = {
    "bool": "System.Boolean",
    "hashtable": "System.Collections.Hashtable",
    "str": "System.String",
    "date": "System.DateTime",
    "list:str": "System.Collections.Generic.List`1[[System.String]]",
    "list:object": "System.Collections.Generic.List`1[[System.Object]]",
    "list:hashtable": "System.Collections.Generic.List`1[[System.Collections.Hashtable]]",
    "list:list": "System.Collections.Generic.List`1[[System.Object]]",
}
OPTION_TYPES = ("bool", "dict", "float", "int", "json", "list", "path", "raw", "sid", "str")


class _Exit(Exception):
    pass


def net_type(value: Any) -> str:
    """``value.GetType()`` as Ansible.Basic's messages print it."""
    if isinstance(value, list) and not isinstance(value, NetList):
        return "System.Object[]"
    if isinstance(value, NetList):
        return "System.Collections.Generic.List`1[System.Object]"
    if isinstance(value, Hashtable) and value.case_sensitive:
        return "System.Collections.Generic.Dictionary`2[System.String,System.Object]"
    return C.type_name_of(value)


class AnsibleModule(NetObject):
    TYPE_NAMES = ("Ansible.Basic.AnsibleModule", "System.Object")

    def __init__(self, ctx: Any, args: list, spec: Hashtable) -> None:
        self.ctx = ctx
        self.rs = ctx.rs
        self.no_log_values: set[str] = set()
        self.context: list[str] = []
        self.warnings: list[str] = []
        self.deprecations: list[dict] = []
        self.cleanup: list[str] = []
        self.tmpdir: str | None = None
        self.props: dict[str, Any] = {
            "CheckMode": False, "DebugMode": False, "DiffMode": False, "KeepRemoteFiles": False,
            "ModuleName": "undefined win module", "NoLog": False, "TargetLogInfo": "", "Verbosity": 0,
            "AnsibleVersion": None, "ignoreUnknownOpts": False, "injectInvocation": False, "remoteTmp": None,
            "_tracebacksFor": [], "tmpdir": None,
        }  # fmt: skip
        self.result = Hashtable([("changed", False)], case_sensitive=True)
        self.diff = Hashtable(case_sensitive=True)
        self.params: Hashtable
        try:
            self._validate_spec(spec)
            self._set_spec_defaults(spec)
            if args:
                raise PSUnsupported("", 0, "AnsibleModule.Create with an arguments file")
            params = self.rs.global_scope.vars.get("complex_args")
            if not isinstance(params, Hashtable):
                raise PSUnsupported("", 0, "AnsibleModule.Create without $complex_args")
            self.params = params
            aliases = self._aliases(spec, self.params)
            self._no_log_values(spec, self.params)
        except _InternalError as exc:
            self.rs.console.append(
                to_json(Hashtable([("failed", True), ("msg", "internal error: %s" % exc), ("exception", str(exc))]))
            )
            self._exit(1)
        self.props["NoLog"] = bool(spec["no_log"])
        legal = ["_ansible_" + k for k in PASS_VARS] + list(spec["options"].keys()) + list(aliases)
        self._check_arguments(spec, self.params, legal)
        if self.props["injectInvocation"]:
            self.result["invocation"] = Hashtable(
                [("module_args", self._remove_no_log(self.params))], case_sensitive=True
            )

    # ------------------------------------------------------------------ spec checks
    def _ctx(self, msg: str, prefix: str = " ") -> str:
        if self.context:
            msg += "%sfound in %s" % (prefix, " -> ".join(self.context))
        return msg

    def _validate_spec(self, spec: Hashtable) -> None:
        changed: dict[str, Any] = {}
        for key, value in spec.items():
            if key not in SPEC_DEFAULTS:
                raise _InternalError(
                    self._ctx(
                        "argument spec entry contains an invalid key '%s', valid keys: %s"
                        % (key, ", ".join(SPEC_DEFAULTS)),
                        " - ",
                    )
                )
            kind = SPEC_DEFAULTS[key][1]
            if value is not None and kind != "any":
                converted = _spec_value(value, kind)
                if converted is _INVALID:
                    raise _InternalError(
                        self._ctx(
                            "argument spec for '%s' did not match expected type %s: actual type %s"
                            % (key, _KIND_NAMES[kind], net_type(value)),
                            " - ",
                        )
                    )
                if converted is not value:
                    changed[key] = converted
            if key == "options" and value is not None:
                for name, meta in value.items():
                    self.context.append(name)
                    self._validate_spec(meta)
                    self.context.pop()
            if key in ("type", "elements") and value is not None:
                if not isinstance(value, str):
                    raise PSUnsupported("", 0, "an argument spec %s given as a delegate" % key)
                if value not in OPTION_TYPES:
                    raise _InternalError(
                        "%s. Valid types are: %s"
                        % (self._ctx("%s '%s' is unsupported" % (key, value), " - "), ", ".join(OPTION_TYPES))
                    )
        for key, value in changed.items():
            spec[key] = value

    def _set_spec_defaults(self, spec: Hashtable) -> None:
        for key, (default, _kind) in SPEC_DEFAULTS.items():
            if key not in spec:
                spec[key] = (
                    Hashtable() if default == "hashtable" else (list(default) if isinstance(default, list) else default)
                )
        for name, meta in spec["options"].items():
            self.context.append(name)
            self._set_spec_defaults(meta)
            self.context.pop()

    def _aliases(self, spec: Hashtable, params: Hashtable) -> dict[str, str]:
        result: dict[str, str] = {}
        for k, v in spec["options"].items():
            if v["default"] is not None and v["required"]:
                raise _InternalError("required and default are mutually exclusive for %s" % k)
            for alias in v["aliases"]:
                result[alias] = k
                if alias in params:
                    params[k] = params[alias]
            if v["deprecated_aliases"]:
                raise PSUnsupported("", 0, "deprecated_aliases in an argument spec")
        return result

    def _no_log_values(self, spec: Hashtable, params: Hashtable) -> None:
        for k, v in spec["options"].items():
            if v["no_log"]:
                value = params[k] if k in params else None
                text = "" if value is None else _parse_str(value)
                if text:
                    self.no_log_values.add(text)
            if (v["removed_in_version"] is not None or v["removed_at_date"] is not None) and k in params:
                raise PSUnsupported("", 0, "removed_in_version/removed_at_date options")

    # ------------------------------------------------------------------ argument checks
    def _check_arguments(self, spec: Hashtable, param: Hashtable, legal: list[str]) -> None:
        self._check_unsupported(param, legal)
        if self.props["CheckMode"] and not spec["supports_check_mode"] and not self.context:
            self.result["skipped"] = True
            self.result["msg"] = "remote module (%s) does not support check mode" % self.props["ModuleName"]
            self.m_exitjson(self.ctx)
        options: Hashtable = spec["options"]
        for group in spec["mutually_exclusive"] or []:
            names = [C.to_string(n) for n in group]
            if sum(1 for n in names if n in param) > 1:
                self._fail(self._ctx("parameters are mutually exclusive: %s" % ", ".join(names)))
        missing = []
        for k, v in options.items():
            if v["default"] is not None and k not in param:
                param[k] = v["default"]
            if v["required"] and k not in param:
                missing.append(k)
        if missing:
            self._fail(self._ctx("missing required arguments: %s" % ", ".join(missing)))
        for k, v in options.items():
            value = param[k] if k in param else None
            if value is None:
                continue
            type_name = v["type"]
            try:
                value = _PARSERS[type_name](self, value)
                param[k] = value
            except _ParseError as exc:
                self._fail(
                    self._ctx(
                        "argument for %s is of type %s and we were unable to convert to %s: %s"
                        % (k, net_type(param[k]), type_name, exc)
                    )
                )
            choices = [_parse_str(c) for c in v["choices"]]
            if choices:
                if type_name == "list":
                    values = [_parse_str(x) for x in value]
                    choice_msg = "one or more of"
                else:
                    values = [_parse_str(value)]
                    choice_msg = "one of"
                lowered = {c.lower() for c in choices}
                diff = [x for x in values if x.lower() not in lowered]
                if diff:
                    self._fail(
                        self._ctx(
                            "value of %s must be %s: %s. Got no match for: %s"
                            % (k, choice_msg, ", ".join(choices), ", ".join(diff))
                        )
                    )
        self._check_groups(param, spec)
        for k, v in options.items():
            if k not in param:
                param[k] = None
            self._check_sub_option(param, k, v)

    def _check_groups(self, param: Hashtable, spec: Hashtable) -> None:
        for group in spec["required_together"] or []:
            names = [C.to_string(n) for n in group]
            found = {n in param for n in names}
            if found == {True, False}:
                self._fail(self._ctx("parameters are required together: %s" % ", ".join(names)))
        for group in spec["required_one_of"] or []:
            names = [C.to_string(n) for n in group]
            if not any(n in param for n in names):
                self._fail(self._ctx("one of the following is required: %s" % ", ".join(names)))
        for check in spec["required_if"] or []:
            if len(check) < 3:
                self._fail(
                    "internal error: invalid required_if value count of %d, expecting 3 or 4 entries" % len(check)
                )
            key, val, requirements = C.to_string(check[0]), check[1], check[2]
            one = bool(check[3]) if len(check) == 4 else False
            if param[key] is None or _parse_str(param[key]) != _parse_str(val):
                continue
            missing = [C.to_string(r) for r in requirements if C.to_string(r) not in param]
            max_missing = len(requirements) if one else 1
            if len(missing) >= max_missing:
                self._fail(
                    self._ctx(
                        "%s is %s but %s of the following are missing: %s"
                        % (key, _parse_str(val), "any" if one else "all", ", ".join(missing))
                    )
                )
        for key, requires in (spec["required_by"] or Hashtable()).items():
            if key not in param:
                continue
            missing = [C.to_string(r) for r in _parse_list(self, requires) if C.to_string(r) not in param]
            if missing:
                self._fail(self._ctx("missing parameter(s) required by '%s': %s" % (key, ", ".join(missing))))

    def _check_sub_option(self, param: Hashtable, key: str, spec: Hashtable) -> None:
        value = param[key]
        type_name, elements = spec["type"], spec["elements"]
        if not (type_name == "dict" or (type_name == "list" and elements is not None)):
            return
        if type_name == "list":
            if value is None:
                return
            new: list = []
            for element in value:
                if elements == "dict":
                    new.append(self._parse_sub_spec(spec, element, key))
                    continue
                try:
                    new.append(_PARSERS[elements](self, element))
                except _ParseError:
                    self._fail(
                        self._ctx(
                            "argument for list entry %s is of type %s and we were unable to convert to %s: "
                            "Exception has been thrown by the target of an invocation."
                            % (key, net_type(element), elements)
                        )
                    )
            param[key] = NetList(new)
        else:
            param[key] = self._parse_sub_spec(spec, value, key)

    def _parse_sub_spec(self, spec: Hashtable, value: Any, context: str) -> Any:
        options: Hashtable = spec["options"]
        if spec["apply_defaults"] and len(options) > 0 and value is None:
            value = Hashtable(case_sensitive=True)
        elif len(options) == 0 or value is None:
            return value
        self.context.append(context)
        try:
            new = _parse_dict(self, value)
        except _ParseError as exc:
            raise PSUnsupported("", 0, "a sub-option value that is not a dict (%s)" % exc) from None
        aliases = self._aliases(spec, new)
        self._no_log_values(spec, new)
        legal = list(options.keys()) + list(aliases)
        self._check_arguments(spec, new, legal)
        self.context.pop()
        return new

    def _check_unsupported(self, param: Hashtable, legal: list[str]) -> None:
        unsupported, case_fix, removed = [], [], []
        lowered = {x.lower(): x for x in legal}
        for key in list(param):
            if key.lower() not in lowered:
                unsupported.append(key)
            elif key not in legal:
                case_fix.append(key)
            elif key.startswith("_ansible_"):
                removed.append(key)
                name = key[len("_ansible_") :]
                if (name == "no_log" and self.props["NoLog"]) or PASS_VARS[name] is None:
                    continue
                value = param[key]
                if name in PASS_BOOLS:
                    value = _parse_bool(value)
                elif name == "verbosity":
                    value = _parse_int(value)
                elif name == "tracebacks_for":
                    value = [_parse_str(v) for v in value]
                self.props[PASS_VARS[name]] = value
        for key in removed:
            del param[key]
        if unsupported and not self.props["ignoreUnknownOpts"]:
            shown = sorted(x for x in legal if not (x.startswith("_ansible_") and x[len("_ansible_") :] in PASS_VARS))
            msg = "Unsupported parameters for (%s) module: %s" % (
                self.props["ModuleName"],
                ", ".join(sorted(unsupported)),
            )
            self._fail("%s. Supported parameters include: %s" % (self._ctx(msg), ", ".join(shown)))
        for key in case_fix:
            correct = lowered[key.lower()]
            value = param[key]
            del param[key]
            param[correct] = value

    # ------------------------------------------------------------------ members
    def p_params(self) -> Hashtable:
        return self.params

    def p_result(self) -> Hashtable:
        return self.result

    def p_diff(self) -> Hashtable:
        return self.diff

    def p_checkmode(self) -> bool:
        return bool(self.props["CheckMode"])

    def p_diffmode(self) -> bool:
        return bool(self.props["DiffMode"])

    def p_debugmode(self) -> bool:
        return bool(self.props["DebugMode"])

    def p_verbosity(self) -> int:
        return int(self.props["Verbosity"])

    def p_modulename(self) -> str:
        return str(self.props["ModuleName"])

    def p_nolog(self) -> bool:
        return bool(self.props["NoLog"])

    def p_keepremotefiles(self) -> bool:
        return bool(self.props["KeepRemoteFiles"])

    def p_tmpdir(self) -> str:
        if self.tmpdir is None:
            host = self.rs.host
            base = _expand_env(self.rs.env, self.props["remoteTmp"] or self.rs.env.get("TEMP", r"C:\Windows\TEMP"))
            if not host.is_dir(base):
                host.make_dirs(base)
                self.warnings.append(
                    "Module remote_tmp %s did not exist and was created with FullControl to %s, this may cause issues "
                    "when running as another user. To avoid this, create the remote_tmp dir with the correct "
                    "permissions manually" % (base, self.rs.env.get("USERNAME", "ansible"))
                )
            from .dotnet import DateTime

            name = "ansible-moduletmp-%d-%d-%d" % (
                DateTime.now(host).to_filetime(),
                self.rs.extras.get("pid", 4242),
                random.randint(0, 2**31 - 1),
            )
            path = ntpath.join(base, name)
            host.make_dirs(path)
            self.tmpdir = path
            if not self.props["KeepRemoteFiles"]:
                self.cleanup.append(path)
        return self.tmpdir

    def m_warn(self, ctx: Any, message: Any) -> Any:
        self.warnings.append(C.to_string(message))
        return AUTOMATION_NULL

    def m_deprecate(self, ctx: Any, message: Any, when: Any, collection: Any = None) -> Any:
        entry = {
            "msg": C.to_string(message),
            "collection_name": None if is_null(collection) else C.to_string(collection),
        }
        from .dotnet import DateTime

        if isinstance(when, DateTime):
            entry["date"] = when.format("yyyy-MM-dd")
        else:
            entry["version"] = C.to_string(when)
        self.deprecations.append(entry)
        return AUTOMATION_NULL

    def m_debug(self, ctx: Any, message: Any) -> Any:
        return AUTOMATION_NULL

    def m_exitjson(self, ctx: Any) -> Any:
        self._cleanup()
        self.rs.console.append(self._formatted())
        self._exit(0)

    def m_failjson(self, ctx: Any, message: Any, record: Any = None) -> Any:
        self._fail(C.to_string(message), record)

    # ------------------------------------------------------------------ output
    def _fail(self, message: str, record: Any = None) -> None:
        self.result["failed"] = True
        self.result["msg"] = self._remove_no_log(message)
        if "exception" not in self.result and (self.props["Verbosity"] > 2 or self.props["DebugMode"]):
            if isinstance(record, ErrorRecord):
                self.result["exception"] = (
                    "%s\r\n%s\r\n    + CategoryInfo          : %s\r\n    + FullyQualifiedErrorId : %s"
                    "\r\n\r\nScriptStackTrace:\r\n%s"
                    % (
                        record.ps_to_string(),
                        record.invocation.p_positionmessage(),
                        record.p_categoryinfo().ps_to_string(),
                        record.error_id,
                        record.stack,
                    )
                )
            elif record is not None and not is_null(record):
                self.result["exception"] = C.net_string(record)
        self._cleanup()
        self.rs.console.append(self._formatted())
        self._exit(1)

    def _exit(self, rc: int) -> None:
        self.rs.global_scope.vars["lastexitcode"] = rc
        raise ExitSignal(rc)

    def _cleanup(self) -> None:
        for path in self.cleanup:
            self.rs.host.remove_path(path)
        self.cleanup = []

    def _formatted(self) -> str:
        result = self.result
        if self.props["injectInvocation"] and "invocation" not in result:
            result["invocation"] = Hashtable([("module_args", self._remove_no_log(self.params))], case_sensitive=True)
        if self.warnings:
            result["warnings"] = list(self.warnings)
        if self.deprecations:
            result["deprecations"] = [Hashtable(d.items(), case_sensitive=True) for d in self.deprecations]
        if len(self.diff) > 0 and self.props["DiffMode"]:
            result["diff"] = self.diff
        return to_json(result)

    def _remove_no_log(self, value: Any) -> Any:
        secrets = self.no_log_values
        if value is None or value is AUTOMATION_NULL:
            return None
        if isinstance(value, bool | int | float) and not isinstance(value, EnumValue):
            text = _parse_str(value)
            if any(s in text for s in secrets):
                return "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
            return value
        if isinstance(value, list):
            return [self._remove_no_log(v) for v in value]
        if isinstance(value, Hashtable):
            return Hashtable(((k, self._remove_no_log(v)) for k, v in value.items()))
        text = C.net_string(value) if not isinstance(value, str) else value
        if text in secrets:
            return "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
        for s in secrets:
            if s in text:
                return text.replace(s, "********")
        return text


class _InternalError(Exception):
    pass


_INVALID = object()


def _spec_value(value: Any, kind: str) -> Any:
    """A spec entry checked (and converted) the way ValidateArgumentSpec does; ``_INVALID`` when wrong."""
    if kind == "bool":
        return value if isinstance(value, bool) else _INVALID
    if kind == "str":
        return value if isinstance(value, str) else _INVALID
    if kind == "hashtable":
        return value if isinstance(value, Hashtable) and not value.case_sensitive else _INVALID
    if kind == "date":
        return _INVALID
    element = kind.split(":", 1)[1]
    if isinstance(value, list):
        return list(value)
    if element == "str" and isinstance(value, str):
        return [value]
    if element == "object" and not isinstance(value, Hashtable):
        return [value]
    if element == "hashtable" and isinstance(value, Hashtable):
        return [value]
    return _INVALID


class _ParseError(Exception):
    pass


def _parse_str(value: Any) -> str:
    if isinstance(value, list) and not isinstance(value, NetList):
        return "System.Object[]"
    if isinstance(value, NetList):
        return "System.Collections.Generic.List`1[System.Object]"
    if isinstance(value, Hashtable):
        return (
            "System.Collections.Generic.Dictionary`2[System.String,System.Object]"
            if value.case_sensitive
            else "System.Collections.Hashtable"
        )
    return C.net_string(value)


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _parse_str(value).lower().strip()
    if text in BOOLEANS_TRUE:
        return True
    if text in BOOLEANS_FALSE:
        return False
    raise _ParseError(
        "The value '%s' is not a valid boolean. Valid booleans include: %s"
        % (text, ", ".join(BOOLEANS_TRUE + BOOLEANS_FALSE))
    )


def _parse_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and C.INT32[0] <= value <= C.INT32[1]:
        return value
    text = _parse_str(value)
    stripped = text.strip()
    if not stripped.lstrip("+-").isdigit() or stripped.count("+") + stripped.count("-") > 1:
        raise _ParseError("Input string was not in a correct format.")
    number = int(stripped)
    if not C.INT32[0] <= number <= C.INT32[1]:
        raise _ParseError("Value was either too large or too small for an Int32.")
    return number


def _parse_float(value: Any) -> float:
    if isinstance(value, float):
        return value
    try:
        return float(_parse_str(value))
    except ValueError:
        raise _ParseError("Input string was not in a correct format.") from None


def _parse_list(module: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        return NetList(value)
    if isinstance(value, str):
        return NetList(s.strip() for s in value.split(","))
    if isinstance(value, int) and not isinstance(value, bool):
        return NetList([value])
    raise _ParseError("%s cannot be converted to a list" % net_type(value))


def _parse_dict(module: Any, value: Any) -> Hashtable:
    if isinstance(value, Hashtable):
        if value.case_sensitive:
            return value
        return Hashtable(((C.to_string(k), v) for k, v in value.items()), case_sensitive=True)
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("}"):
            parsed = from_json(value)
            return _as_dictionary(parsed)
        if "=" in value:
            raise PSUnsupported("", 0, "a dict option given as key=value text")
        raise _ParseError("string cannot be converted to a dict, must either be a JSON string or in the key=value form")
    raise _ParseError("%s cannot be converted to a dict" % net_type(value))


def _as_dictionary(value: Any) -> Any:
    if isinstance(value, PSCustomObject):
        return Hashtable(((k, _as_dictionary(v)) for k, v in value.props.items()), case_sensitive=True)
    if isinstance(value, list):
        return [_as_dictionary(v) for v in value]
    return value


def _parse_json(module: Any, value: Any) -> str:
    if isinstance(value, Hashtable):
        return to_json(value)
    if isinstance(value, str):
        return value
    raise _ParseError("%s cannot be converted to json" % net_type(value))


def _parse_path(module: Any, value: Any) -> str:
    text = _parse_str(value)
    if text.startswith("\\\\?\\"):
        return text
    text = _expand_env(module.rs.env, text)
    if any(ch in text for ch in '"<>|\0'):
        raise _ParseError("string value contains invalid path characters, cannot convert to path")
    return text


def _expand_env(env: dict[str, str], text: str) -> str:
    lowered = {k.lower(): v for k, v in env.items()}

    def sub(m: Any) -> str:
        return lowered.get(m.group(1).lower(), m.group(0))

    import re

    return re.sub(r"%([^%]+)%", sub, text)


def _parse_sid(module: Any, value: Any) -> Any:
    raise PSUnsupported("", 0, "options of type sid")


_PARSERS = {
    "bool": lambda m, v: _parse_bool(v),
    "dict": _parse_dict,
    "float": lambda m, v: _parse_float(v),
    "int": lambda m, v: _parse_int(v),
    "json": _parse_json,
    "list": _parse_list,
    "path": _parse_path,
    "raw": lambda m, v: v,
    "sid": _parse_sid,
    "str": lambda m, v: _parse_str(v),
}


def _require_basic(ctx: Any) -> None:
    if "ansible.basic" not in ctx.rs.csharp_utils:
        raise error(
            "Unable to find type [Ansible.Basic.AnsibleModule].",
            "TypeNotFound",
            exc_type="System.Management.Automation.RuntimeException",
            category="InvalidOperation",
        )


def _create(ctx: Any, args: Any, spec: Any, fragments: Any = None) -> AnsibleModule:
    _require_basic(ctx)
    if fragments is not None:
        raise PSUnsupported("", 0, "AnsibleModule.Create with spec fragments")
    if not isinstance(spec, Hashtable):
        raise PSUnsupported("", 0, "AnsibleModule.Create with a %s spec" % C.type_name_of(spec))
    if ctx.rs.extras.get("capture_spec"):
        # What ansible-test's validate-modules does (Ansible.Basic's _DebugArgSpec): keep the spec as
        # the module passes it, before any defaults are filled in, and end the module.
        from .jsonps import to_plain

        ctx.rs.extras["spec"] = to_plain(spec)
        raise ExitSignal(0)
    module = AnsibleModule(ctx, C.to_list(args) if not is_null(args) else [], spec)
    ctx.rs.extras["module"] = module
    return module


register(
    PSType(
        "Ansible.Basic.AnsibleModule",
        static_methods={
            "Create": _create,
            "FromJson": lambda ctx, text: (_require_basic(ctx), _as_dictionary(from_json(C.to_string(text))))[1],
            "ToJson": lambda ctx, value: (_require_basic(ctx), to_json(value))[1],
        },
    )
)
