"""Commands: parameter binding (functions and cmdlets alike), cmdlet definitions, dispatch.

Binding follows PowerShell: named parameters by full name, alias or unambiguous prefix;
``-Name:value``; switches; positional parameters (declaration order for advanced functions
without explicit positions); splatting; mandatory parameters, ``[AllowNull()]``,
``[AllowEmptyString()]``, ``[AllowEmptyCollection()]``, ``[ValidateSet()]``; conversion to the
parameter's type; the common parameters of advanced functions and cmdlets. Every failure is the
ParameterBindingException PowerShell raises, with its message and error id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import convert as C
from .errors import ErrorRecord, NetException, PSRuntimeError, PSUnsupported, ReturnSignal, error
from .runtime import Frame, Function, Scope
from .types import ArrayType, PSType, lookup
from .values import AUTOMATION_NULL, Hashtable, SwitchParameter, is_null

COMMON = {
    "erroraction": "ErrorAction",
    "warningaction": "WarningAction",
    "informationaction": "InformationAction",
    "verbose": "Verbose",
    "debug": "Debug",
    "errorvariable": "ErrorVariable",
    "warningvariable": "WarningVariable",
    "informationvariable": "InformationVariable",
    "outvariable": "OutVariable",
    "outbuffer": "OutBuffer",
    "pipelinevariable": "PipelineVariable",
}
COMMON_ALIASES = {"ea": "erroraction", "wa": "warningaction", "vb": "verbose", "db": "debug", "ev": "errorvariable"}
SHOULD_PROCESS = {"whatif": "WhatIf", "confirm": "Confirm"}
#: Common parameters the model honours; the others raise PSUnsupported when used.
_HONOURED = {"erroraction", "warningaction", "informationaction", "verbose", "debug", "confirm"}
_ACTIONS = {"stop": "Stop", "continue": "Continue", "silentlycontinue": "SilentlyContinue", "ignore": "Ignore"}


class ParamSpec:
    """One parameter of a function or cmdlet."""

    __slots__ = (
        "aliases",
        "allow_empty_collection",
        "allow_empty_string",
        "allow_null",
        "default",
        "low",
        "mandatory",
        "name",
        "pipeline",
        "position",
        "switch",
        "type",
        "type_name",
        "validate_set",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        type_: PSType | None = None,
        *,
        mandatory: bool = False,
        position: int | None = None,
        switch: bool = False,
        aliases: tuple[str, ...] = (),
        allow_null: bool = False,
        allow_empty_string: bool = False,
        allow_empty_collection: bool = False,
        validate_set: list | None = None,
        default: Callable[[Frame], Any] | None = None,
        pipeline: bool = False,
    ) -> None:
        self.name = name
        self.low = name.lower()
        self.type = type_
        self.mandatory = mandatory
        self.position = position
        self.switch = switch or (
            type_ is not None and type_.full_name == "System.Management.Automation.SwitchParameter"
        )
        self.aliases = tuple(a.lower() for a in aliases)
        self.allow_null = allow_null
        self.allow_empty_string = allow_empty_string
        self.allow_empty_collection = allow_empty_collection
        self.validate_set = validate_set
        self.default = default
        self.pipeline = pipeline


class Binder:
    """Binds call arguments to a command's parameters."""

    def __init__(self, command: str, params: list[ParamSpec], advanced: bool, should_process: bool = False) -> None:
        self.command = command
        self.params = params
        self.advanced = advanced
        self.by_name: dict[str, ParamSpec] = {}
        for p in params:
            self.by_name[p.low] = p
            for a in p.aliases:
                self.by_name[a] = p
        self.common = dict(COMMON) if advanced else {}
        if should_process:
            self.common.update(SHOULD_PROCESS)
        explicit = any(p.position is not None for p in params)
        self.positional = sorted(
            (p for p in params if (p.position is not None if explicit else not p.switch)),
            key=lambda p: p.position if explicit else params.index(p),
        )

    # ------------------------------------------------------------------ errors
    def _bind_error(self, message: str, error_id: str, category: str = "InvalidArgument") -> PSRuntimeError:
        return error(
            message,
            "%s,%s" % (error_id, self.command),
            exc_type="System.Management.Automation.ParameterBindingException",
            category=category,
        )

    def _match(self, written: str) -> tuple[str, ParamSpec | None]:
        """(``param``|``common``, spec) for a parameter name as written (prefixes allowed)."""
        low = written.lower()
        if low in self.by_name:
            return "param", self.by_name[low]
        if low in self.common:
            return "common", None
        if self.advanced and low in COMMON_ALIASES:
            return "common", None
        candidates = {p.low: p for key, p in self.by_name.items() if key.startswith(low)}
        commons = [c for c in self.common if c.startswith(low)]
        if len(candidates) + len(commons) == 1:
            if candidates:
                return "param", next(iter(candidates.values()))
            return "common", None
        if not candidates and not commons:
            raise self._bind_error(
                "A parameter cannot be found that matches parameter name '%s'." % written, "NamedParameterNotFound"
            )
        names = sorted([p.name for p in candidates.values()] + [self.common[c] for c in commons])
        raise self._bind_error(
            "Parameter cannot be processed because the parameter name '%s' is ambiguous. Possible matches include: %s."
            % (written, " ".join("-" + n for n in names)),
            "AmbiguousParameter",
        )

    def _common_name(self, written: str) -> str:
        low = written.lower()
        low = COMMON_ALIASES.get(low, low)
        if low in self.common:
            return low
        return next(c for c in self.common if c.startswith(low))

    # ------------------------------------------------------------------ binding
    def bind(self, f: Frame, args: list) -> tuple[dict[str, Any], dict[str, Any], list]:
        """(bound values by lower-case name, common parameters, unbound positional values)."""
        bound: dict[str, Any] = {}
        common: dict[str, Any] = {}
        positional: list = []
        for item in args:
            if item[0] == "pos":
                positional.append(item[1])
                continue
            _kind, written, value, has_value, colon = item
            where, spec = self._match(written)
            if where == "common":
                name = self._common_name(written)
                if name not in _HONOURED:
                    raise PSUnsupported("", 0, "common parameter -%s" % self.common[name])
                if not has_value:
                    value = True
                elif not colon and name not in ("erroraction", "warningaction", "informationaction"):
                    positional.append(value)
                    value = True
                common[name] = value
                continue
            assert spec is not None
            if spec.low in bound:
                raise self._bind_error(
                    "Cannot bind parameter because parameter '%s' is specified more than once. To provide multiple "
                    "values to parameters that can accept multiple values, use the array syntax. For example, "
                    '"-parameter value1,value2,value3".' % spec.name,
                    "ParameterAlreadyBound",
                )
            if spec.switch:
                if has_value and not colon:
                    positional.append(value)
                    value = SwitchParameter(True)
                elif not has_value:
                    value = SwitchParameter(True)
            elif not has_value:
                raise self._bind_error(
                    "Missing an argument for parameter '%s'. Specify a parameter of type '%s' and try again."
                    % (spec.name, spec.type.full_name if spec.type else "System.Object"),
                    "MissingArgument",
                )
            bound[spec.low] = value
        rest: list = []
        slots = [p for p in self.positional if p.low not in bound]
        for value in positional:
            if slots:
                bound[slots.pop(0).low] = value
            else:
                rest.append(value)
        if rest and self.advanced:
            raise self._bind_error(
                "A positional parameter cannot be found that accepts argument '%s'." % C.to_string(rest[0]),
                "PositionalParameterNotFound",
            )
        return bound, common, rest

    def finish(self, f: Frame, bound: dict[str, Any], pipeline_bound: bool = False) -> dict[str, Any]:
        """Convert and validate the bound values, check mandatory ones, apply defaults (in ``f``)."""
        missing = [
            p.name for p in self.params if p.mandatory and p.low not in bound and not (pipeline_bound and p.pipeline)
        ]
        if missing:
            raise self._bind_error(
                "Cannot process command because of one or more missing mandatory parameters: %s." % " ".join(missing),
                "MissingMandatoryParameter",
            )
        out: dict[str, Any] = {}
        for p in self.params:
            if p.low in bound:
                out[p.low] = self.convert(f, p, bound[p.low])
        for p in self.params:
            if p.low not in out:
                if p.switch:
                    out[p.low] = SwitchParameter(False)
                elif p.default is not None:
                    out[p.low] = p.default(f)
                elif p.type is not None and p.type.full_name in _VALUE_DEFAULTS:
                    out[p.low] = _VALUE_DEFAULTS[p.type.full_name]
                else:
                    out[p.low] = None
        return out

    def convert(self, f: Frame, p: ParamSpec, value: Any) -> Any:
        if value is AUTOMATION_NULL:
            value = None
        t = p.type
        if p.mandatory:
            self._check_mandatory(p, value)
        if t is None:
            return value
        try:
            if t.full_name == "System.Boolean":
                converted: Any = _to_bool_parameter(value)
            elif t.full_name == "System.Management.Automation.SwitchParameter":
                converted = value if isinstance(value, SwitchParameter) else SwitchParameter(_to_bool_parameter(value))
            else:
                converted = t.convert(f, value)
        except PSRuntimeError as exc:
            raise self._bind_error(
                "Cannot process argument transformation on parameter '%s'. %s" % (p.name, exc.record.exception.message),
                "ParameterArgumentTransformationError",
            ) from None
        if p.mandatory:
            self._check_mandatory(p, converted)
        if p.validate_set is not None:
            allowed = [str(v).lower() for v in p.validate_set]
            for item in converted if isinstance(converted, list) else [converted]:
                if C.to_string(item).lower() not in allowed:
                    raise self._bind_error(
                        "Cannot validate argument on parameter '%s'. The argument \"%s\" does not belong to the set "
                        '"%s" specified by the ValidateSet attribute. Supply an argument that is in the set and then '
                        "try the command again."
                        % (p.name, C.to_string(item), ",".join(str(v) for v in p.validate_set)),
                        "ParameterArgumentValidationError",
                        "InvalidData",
                    )
        return converted

    def _check_mandatory(self, p: ParamSpec, value: Any) -> None:
        is_string = p.type is not None and p.type.full_name in ("System.String", "System.String[]")
        items = value if isinstance(value, list) else [value]
        if isinstance(value, list) and not value and not p.allow_empty_collection:
            raise self._bind_error(
                "Cannot bind argument to parameter '%s' because it is an empty array." % p.name,
                "ParameterArgumentValidationErrorEmptyArrayNotAllowed",
                "InvalidData",
            )
        for item in items:
            if is_null(item) and not p.allow_null:
                if is_string and not p.allow_empty_string:
                    raise self._bind_error(
                        "Cannot bind argument to parameter '%s' because it is an empty string." % p.name,
                        "ParameterArgumentValidationErrorEmptyStringNotAllowed",
                        "InvalidData",
                    )
                if not is_string:
                    raise self._bind_error(
                        "Cannot bind argument to parameter '%s' because it is null." % p.name,
                        "ParameterArgumentValidationErrorNullNotAllowed",
                        "InvalidData",
                    )
            if item == "" and is_string and not p.allow_empty_string:
                raise self._bind_error(
                    "Cannot bind argument to parameter '%s' because it is an empty string." % p.name,
                    "ParameterArgumentValidationErrorEmptyStringNotAllowed",
                    "InvalidData",
                )


_VALUE_DEFAULTS = {"System.Int32": 0, "System.Int64": 0, "System.Double": 0.0, "System.Boolean": False}


def _to_bool_parameter(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, SwitchParameter):
        return value.is_present
    if isinstance(value, int | float):
        return value != 0
    if value is None:
        return False
    raise error(
        'Cannot convert value "%s" to type "System.Boolean". Boolean parameters accept only Boolean values and '
        "numbers, such as $True, $False, 1 or 0." % C.type_name_of(value),
        "ParameterArgumentTransformationError",
        exc_type="System.Management.Automation.PSInvalidCastException",
        category="InvalidArgument",
    )


# ---------------------------------------------------------------------------- functions
def function_binder(fn_name: str, block: Any, compile_default: Callable[[Any], Callable[[Frame], Any]]) -> Binder:
    """The binder of a script function (types resolved now: an unknown type is PSUnsupported)."""
    from .types import resolve

    params = []
    for decl in block.params or []:
        t = resolve(decl.type, block.file, decl.line) if decl.type is not None else None
        params.append(
            ParamSpec(
                decl.name,
                t,
                mandatory=decl.mandatory,
                position=decl.position,
                allow_null=bool(decl.attributes.get("allownull")),
                allow_empty_string=bool(decl.attributes.get("allowemptystring")),
                allow_empty_collection=bool(decl.attributes.get("allowemptycollection")),
                validate_set=decl.attributes.get("validateset"),
                default=compile_default(decl.default) if decl.default is not None else None,
                pipeline=bool(decl.attributes.get("valuefrompipeline")),
            )
        )
    advanced = block.cmdlet_binding or any(p.mandatory or p.pipeline for p in params)
    return Binder(fn_name, params, advanced)


def call_function(f: Frame, fn: Function, args: list, input_objects: list | None) -> list:
    """Run a script function; returns its output objects."""
    rs = f.rs
    rs.called.setdefault(fn.file, set()).add(fn.name.lower())
    parent: Scope = f.scope if f.scope.session is fn.session else fn.session.scope
    scope = Scope(parent, fn.session)
    frame = Frame(rs, scope)
    binder: Binder = fn.binder()
    if input_objects and any(p.pipeline for p in binder.params):
        raise PSUnsupported(fn.file, fn.line, "pipeline input bound to a ValueFromPipeline parameter of %s" % fn.name)
    bound, common, rest = binder.bind(f, args)
    values = binder.finish(frame, bound)
    scope.vars.update(values)
    psbound = Hashtable((p.name, values[p.low]) for p in binder.params if p.low in bound)
    scope.vars["psboundparameters"] = psbound
    scope.vars["args"] = rest
    if input_objects is not None:
        scope.vars["input"] = list(input_objects)
    if "erroraction" in common:
        scope.vars["erroractionpreference"] = _action(common["erroraction"])
    rs.depth += 1
    if rs.depth > 100:
        raise error("The script failed due to call depth overflow.", "CallDepthOverflow", category="InvalidOperation")
    out: list = []
    try:
        fn.body(frame, out)
    except ReturnSignal:
        pass
    finally:
        rs.depth -= 1
    return out


def _action(value: Any) -> str:
    text = C.to_string(value)
    action = _ACTIONS.get(text.lower())
    if action is None:
        raise error(
            'Cannot convert value "%s" to type "System.Management.Automation.ActionPreference".' % text,
            "ParameterArgumentTransformationError",
            exc_type="System.Management.Automation.ParameterBindingException",
            category="InvalidArgument",
        )
    return action


# ---------------------------------------------------------------------------- cmdlets
class CmdletCall:
    """One invocation of a modelled cmdlet: its bound parameters, input and output."""

    __slots__ = ("common", "f", "input", "merge_errors", "name", "out", "p")

    def __init__(
        self, f: Frame, name: str, p: dict[str, Any], common: dict[str, Any], input_objects: list | None
    ) -> None:
        self.f = f
        self.name = name
        self.p = p
        self.common = common
        self.input = input_objects
        self.out: list = []
        self.merge_errors = False

    @property
    def host(self) -> Any:
        return self.f.rs.host

    def given(self, name: str) -> bool:
        return name in self.p and self.p[name] is not None

    def write(self, value: Any) -> None:
        self.out.append(value)

    def error(self, record: ErrorRecord) -> None:
        """A non-terminating error (honours -ErrorAction and $ErrorActionPreference)."""
        explicit = _action(self.common["erroraction"]) if "erroraction" in self.common else None
        self.f.write_error(record, explicit, self.out if self.merge_errors else None)

    def record(
        self, message: str, error_id: str, category: str, exc_type: str = "System.Exception", target: Any = None
    ) -> ErrorRecord:
        """An ErrorRecord of this cmdlet (error id ``Id,Microsoft.…Command`` as PowerShell writes it)."""
        cls = CMDLETS[self.name.lower()].class_name
        return ErrorRecord(NetException(exc_type, message), "%s,%s" % (error_id, cls), category, target)


class Cmdlet:
    def __init__(
        self,
        name: str,
        func: Callable[[CmdletCall], None],
        params: list[ParamSpec],
        class_name: str,
        available: Callable[[Any], bool] | None,
        should_process: bool,
        exclusive: list[tuple[str, ...]],
        one_of: list[tuple[str, ...]],
        module: str,
    ) -> None:
        self.name = name
        self.func = func
        self.class_name = class_name
        self.binder = Binder(name, params, advanced=True, should_process=should_process)
        self.available = available
        self.exclusive = exclusive
        self.one_of = one_of
        self.module = module


CMDLETS: dict[str, Cmdlet] = {}


def cmdlet(
    name: str,
    params: list[ParamSpec],
    *,
    class_name: str | None = None,
    available: Callable[[Any], bool] | None = None,
    should_process: bool = False,
    exclusive: list[tuple[str, ...]] | None = None,
    one_of: list[tuple[str, ...]] | None = None,
    module: str = "Microsoft.PowerShell.Management",
) -> Callable[[Callable[[CmdletCall], None]], Callable[[CmdletCall], None]]:
    """Register a modelled cmdlet. ``available(host)`` says whether the host has it (Get-Command)."""

    def register(func: Callable[[CmdletCall], None]) -> Callable[[CmdletCall], None]:
        cls = class_name or "%s.Commands.%sCommand" % (module, name.replace("-", ""))
        CMDLETS[name.lower()] = Cmdlet(
            name, func, params, cls, available, should_process, exclusive or [], one_of or [], module
        )
        return func

    return register


def call_cmdlet(f: Frame, c: Cmdlet, args: list, input_objects: list | None, merge_errors: bool = False) -> list:
    bound, common, _rest = c.binder.bind(f, args)
    for group in c.exclusive:
        if sum(1 for g in group if g in bound) > 1:
            raise c.binder._bind_error(
                "Parameter set cannot be resolved using the specified named parameters.", "AmbiguousParameterSet"
            )
    for group in c.one_of:
        if not any(g in bound for g in group):
            raise c.binder._bind_error(
                "Cannot process command because of one or more missing mandatory parameters: %s."
                % " ".join(c.binder.by_name[g].name for g in group[:1]),
                "MissingMandatoryParameter",
            )
    values = c.binder.finish(f, bound, pipeline_bound=bool(input_objects))
    call = CmdletCall(f, c.name, values, common, input_objects)
    call.merge_errors = merge_errors
    f.rs.last_ok = True
    c.func(call)
    return call.out


def string_type() -> PSType:
    t = lookup("string")
    assert t is not None
    return t


def type_of(name: str) -> PSType:
    t = lookup(name)
    if t is None:
        raise KeyError(name)
    return t


def array_of(name: str) -> ArrayType:
    return ArrayType(type_of(name))
