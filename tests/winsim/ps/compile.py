"""The syntax tree compiled to Python closures, once per script: statements ``(frame, out)``,
expressions ``(frame) -> value``.

Output follows PowerShell: a statement writes objects to its output list (arrays unrolled one
level); an assignment or a sub-expression collects output (nothing = AutomationNull, one object =
that object, several = an array); a pure expression assigned keeps its value. Every statement
records its line for coverage, gives terminating errors their position and, with
``$ErrorActionPreference`` other than Stop and no enclosing try, reports a statement-terminating
error and goes on with the next statement.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import ast as A
from . import convert as C
from . import coverage, members, ops
from .commands import CMDLETS, function_binder
from .errors import (
    BreakSignal,
    ContinueSignal,
    ErrorRecord,
    ExitSignal,
    NetException,
    PSRuntimeError,
    PSUnsupported,
    ReturnSignal,
    error,
)
from .runtime import MISSING, Frame, Function, locate
from .types import PSType, resolve
from .values import AUTOMATION_NULL, Hashtable, NetObject, ScriptBlockValue, collect, enumerate_value, is_null, write_to

Stmt = Callable[[Frame, list], None]
Expr = Callable[[Frame], Any]

#: Automatic variables the model does not provide: reading one is PSUnsupported.
_UNMODELLED_VARS = {
    "host", "executioncontext", "myinvocation", "pscmdlet", "pshome", "profile", "psscriptroot", "pscommandpath",
    "stacktrace", "sender", "event", "eventargs", "eventsubscriber", "this", "nestedpromptlevel", "shellid",
    "psculture", "psuiculture", "home", "pwd", "psedition", "iscoreclr", "islinux", "iswindows", "ismacos",
    "psversiontable", "pid", "consolefilename", "foreach", "psdebugcontext",
}  # fmt: skip


class Compiler:
    def __init__(self, file: str) -> None:
        self.file = file
        self.hits = coverage.RECORDER.hits_for(file)

    def fail(self, node: A.Node, what: str) -> PSUnsupported:
        return PSUnsupported(self.file, node.line, what)

    # ------------------------------------------------------------------ blocks and statements
    def block(self, stmts: list) -> Stmt:
        compiled = [self.stmt(s) for s in stmts]
        if len(compiled) == 1:
            return compiled[0]

        def run(f: Frame, out: list) -> None:
            for s in compiled:
                s(f, out)

        return run

    def stmt(self, node: A.Node) -> Stmt:
        method = getattr(self, "st_" + type(node).__name__)
        inner = method(node)
        if isinstance(node, A.FunctionDef):
            return inner
        return self._wrap(node, inner)

    def _wrap(self, node: A.Node, inner: Stmt) -> Stmt:
        file, line, add = self.file, node.line, self.hits.add

        def run(f: Frame, out: list) -> None:
            add(line)
            try:
                inner(f, out)
            except PSRuntimeError as exc:
                locate(exc.record, file, line)
                rs = f.rs
                rs.last_ok = False
                if rs.try_depth == 0 and f.error_action() != "stop":
                    rs.errors.insert(0, exc.record)
                    rs.error_stream.append(exc.record)
                    return
                raise
            except PSUnsupported as exc:
                if not exc.file:
                    raise PSUnsupported(file, line, exc.what) from None
                raise

        return run

    def st_Pipeline(self, node: A.Pipeline) -> Stmt:
        elements = node.elements
        if len(elements) == 1 and isinstance(elements[0], A.IncDec):
            # $i++ as a statement writes nothing (it is an assignment).
            step = self.expr(elements[0])

            def run_step(f: Frame, out: list) -> None:
                step(f)

            return run_step
        if len(elements) == 1 and not isinstance(elements[0], A.Command):
            ev = self.expr(elements[0])

            def run_expr(f: Frame, out: list) -> None:
                write_to(out, ev(f))

            return run_expr
        stages = self.stages(node)

        def run(f: Frame, out: list) -> None:
            out.extend(stages(f))

        return run

    def stages(self, node: A.Pipeline) -> Callable[[Frame], list]:
        first = node.elements[0]
        head: Expr | None = None
        commands = []
        if isinstance(first, A.Command):
            commands.append(self.command(first))
        else:
            head = self.expr(first)
        commands.extend(self.command(c) for c in node.elements[1:])  # type: ignore[arg-type]

        def run(f: Frame) -> list:
            data: list | None = None
            if head is not None:
                data = []
                write_to(data, head(f))
            for cmd in commands:
                data = cmd(f, data)
            return data or []

        return run

    def st_Assign(self, node: A.Assign) -> Stmt:
        setter = self.assign(node)

        def run(f: Frame, out: list) -> None:
            setter(f)

        return run

    def assign(self, node: A.Assign) -> Expr:
        """The assignment as an expression returning the value assigned."""
        value = self.value(node.value)
        target = node.target
        op = node.op
        if isinstance(target, A.Var) and target.name.lower() == "null" and op == "=":

            def discard(f: Frame) -> Any:
                value(f)
                return AUTOMATION_NULL

            return discard
        getter = self.expr(target) if op != "=" else None
        store = self.store(target)
        arith = {"+=": "+", "-=": "-", "*=": "*", "/=": "/", "%=": "%"}.get(op)

        def run(f: Frame) -> Any:
            v = value(f)
            if arith is not None:
                assert getter is not None
                v = ops.binary(arith, getter(f), v, f)
            store(f, v)
            return v

        return run

    def store(self, target: A.Node) -> Callable[[Frame, Any], None]:
        if isinstance(target, A.Var):
            name, qualifier = target.name.lower(), target.scope
            if qualifier == "env":

                def set_env(f: Frame, v: Any) -> None:
                    if is_null(v) or v == "":
                        _env_delete(f, name)
                    else:
                        f.rs.env[_env_key(f, name)] = C.to_string(v)

                return set_env
            if name in ("true", "false", "null", "_", "psitem", "args", "input", "error", "?", "matches"):
                if name not in ("matches",):
                    raise self.fail(target, "assigning the automatic variable $%s" % target.name)

            def set_var(f: Frame, v: Any) -> None:
                f.scope_for(qualifier).vars[name] = v

            return set_var
        if isinstance(target, A.Member):
            if target.static:
                raise self.fail(target, "assigning a static member")
            obj = self.expr(target.target)
            mname = self.member_name(target.name)

            def set_member(f: Frame, v: Any) -> None:
                members.set_member(obj(f), mname(f), v)

            return set_member
        if isinstance(target, A.Index):
            obj = self.expr(target.target)
            idx = self.expr(target.index)

            def set_index(f: Frame, v: Any) -> None:
                _set_index(obj(f), idx(f), v)

            return set_index
        raise self.fail(target, "assignment to %s" % type(target).__name__)

    def value(self, node: A.Node) -> Expr:
        """A statement used as a value (assignment right-hand side, condition, hash entry)."""
        if isinstance(node, A.Pipeline):
            if len(node.elements) == 1 and not isinstance(node.elements[0], A.Command):
                return self.expr(node.elements[0])
            stages = self.stages(node)
            return lambda f: collect(stages(f))
        if isinstance(node, A.Assign):
            return self.assign(node)
        stmt = self.stmt(node)

        def run(f: Frame) -> Any:
            out: list = []
            stmt(f, out)
            return collect(out)

        return run

    def st_If(self, node: A.If) -> Stmt:
        clauses = [(self.value(c), self.block(b)) for c, b in node.clauses]
        orelse = self.block(node.orelse) if node.orelse is not None else None
        truth = C.to_bool

        def run(f: Frame, out: list) -> None:
            for cond, body in clauses:
                if truth(cond(f)):
                    body(f, out)
                    return
            if orelse is not None:
                orelse(f, out)

        return run

    def st_Foreach(self, node: A.Foreach) -> Stmt:
        name = node.var.name.lower()
        iterable = self.value(node.iterable)
        body = self.block(node.body)

        def run(f: Frame, out: list) -> None:
            items = iterable(f)
            if is_null(items):
                return
            seq = enumerate_value(items)
            if seq is None:
                seq = [items]
            vars_ = f.scope.vars
            for item in list(seq):
                vars_[name] = item
                try:
                    body(f, out)
                except ContinueSignal:
                    continue
                except BreakSignal:
                    break

        return run

    def st_While(self, node: A.While) -> Stmt:
        cond = self.value(node.cond)
        body = self.block(node.body)
        kind = node.kind
        truth = C.to_bool

        def run(f: Frame, out: list) -> None:
            first = True
            while True:
                if kind == "while" or not first:
                    ok = truth(cond(f))
                    if (kind == "do_until") == ok:
                        return
                first = False
                try:
                    body(f, out)
                except ContinueSignal:
                    continue
                except BreakSignal:
                    return

        return run

    def st_For(self, node: A.For) -> Stmt:
        init = self.value(node.init) if node.init is not None else None
        cond = self.value(node.cond) if node.cond is not None else None
        step = self.value(node.step) if node.step is not None else None
        body = self.block(node.body)

        def run(f: Frame, out: list) -> None:
            if init is not None:
                init(f)
            while cond is None or C.to_bool(cond(f)):
                try:
                    body(f, out)
                except BreakSignal:
                    return
                except ContinueSignal:
                    pass
                if step is not None:
                    step(f)

        return run

    def st_Switch(self, node: A.Switch) -> Stmt:
        subject = self.value(node.value)
        regex, wildcard = "regex" in node.flags, "wildcard" in node.flags
        case = "casesensitive" in node.flags
        clauses: list[tuple[Any, Stmt]] = []
        default: Stmt | None = None
        for cond, body in node.clauses:
            if cond is None:
                default = self.block(body)
            elif isinstance(cond, A.ScriptBlockLit):
                clauses.append((("block", self.block(cond.block.body)), self.block(body)))
            else:
                clauses.append((("value", self.expr(cond)), self.block(body)))

        def matches(f: Frame, item: Any, test: tuple) -> bool:
            kind, ev = test
            if kind == "block":
                out: list = []
                ev(f, out)
                return C.to_bool(collect(out))
            want = ev(f)
            if regex:
                m = ops.dotnet_regex(C.to_string(want), case).search(C.to_string(item))
                if m is not None:
                    f.set_matches(ops.match_table(m))
                return m is not None
            if wildcard:
                return ops.like(item, want, case)
            return ops.equals(item, want, case)

        def run(f: Frame, out: list) -> None:
            value = subject(f)
            items = value if isinstance(value, list) else [None if value is AUTOMATION_NULL else value]
            vars_ = f.scope.vars
            saved = vars_.get("_", MISSING)
            try:
                for item in items:
                    vars_["_"] = item
                    matched = False
                    try:
                        for test, body in clauses:
                            if matches(f, item, test):
                                matched = True
                                body(f, out)
                        if not matched and default is not None:
                            default(f, out)
                    except ContinueSignal:
                        continue
            except BreakSignal:
                pass
            finally:
                if saved is MISSING:
                    vars_.pop("_", None)
                else:
                    vars_["_"] = saved

        return run

    def st_Try(self, node: A.Try) -> Stmt:
        body = self.block(node.body)
        file = self.file
        catches: list[tuple[tuple[str, ...] | None, Stmt, A.Catch]] = []
        for c in node.catches:
            catches.append((None if not c.types else tuple(str(t) for t in c.types), self.block(c.body), c))
        final = self.block(node.final) if node.final is not None else None

        def handler_for(exc: PSRuntimeError) -> Stmt | None:
            names = members.exception_types(exc.record.exception)
            for types, handler, c in catches:
                if types is None:
                    return handler
                for t in types:
                    resolved = resolve(A.TypeName(t), file, c.line)
                    if resolved.full_name in names:
                        return handler
            return None

        def run(f: Frame, out: list) -> None:
            rs = f.rs
            try:
                rs.try_depth += 1
                try:
                    body(f, out)
                finally:
                    rs.try_depth -= 1
            except PSRuntimeError as exc:
                handler = handler_for(exc)
                if handler is None:
                    raise
                vars_ = f.scope.vars
                saved = vars_.get("_", MISSING)
                vars_["_"] = exc.record
                try:
                    handler(f, out)
                finally:
                    if saved is MISSING:
                        vars_.pop("_", None)
                    else:
                        vars_["_"] = saved
            finally:
                if final is not None:
                    final(f, out)

        return run

    def st_Flow(self, node: A.Flow) -> Stmt:
        kind = node.kind
        value = self.value(node.value) if node.value is not None else None
        if kind == "return":

            def ret(f: Frame, out: list) -> None:
                if value is not None:
                    write_to(out, value(f))
                raise ReturnSignal()

            return ret
        if kind == "break":

            def brk(f: Frame, out: list) -> None:
                raise BreakSignal()

            return brk
        if kind == "continue":

            def cont(f: Frame, out: list) -> None:
                raise ContinueSignal()

            return cont
        if kind == "exit":

            def ext(f: Frame, out: list) -> None:
                code = C.to_integer(value(f)) if value is not None else 0
                f.rs.global_scope.vars["lastexitcode"] = code
                raise ExitSignal(code)

            return ext

        def throw(f: Frame, out: list) -> None:
            if value is None:
                current = f.get("_")
                if isinstance(current, ErrorRecord):
                    raise PSRuntimeError(current)
                raise error("ScriptHalted", "ScriptHalted", category="OperationStopped")
            v = value(f)
            if isinstance(v, ErrorRecord):
                raise PSRuntimeError(v)
            if isinstance(v, NetException):
                raise PSRuntimeError(ErrorRecord(v, v.TYPE_NAMES[0].rsplit(".", 1)[-1], "OperationStopped"))
            message = C.to_string(v) if not is_null(v) else "ScriptHalted"
            raise error(message, message, category="OperationStopped", target=None if is_null(v) else v)

        return throw

    def st_FunctionDef(self, node: A.FunctionDef) -> Stmt:
        name, low, block = node.name, node.name.lower(), node.block
        body = self.block(block.body)
        binder: list = []
        compiler = self

        def get_binder() -> Any:
            if not binder:
                binder.append(function_binder(name, block, compiler.expr))
            return binder[0]

        coverage.RECORDER.define_function(self.file, low)

        def define(f: Frame, out: list) -> None:
            f.scope.funcs[low] = Function(name, block, f.session, body, get_binder, node.line)

        return define

    # ------------------------------------------------------------------ expressions
    def expr(self, node: A.Node) -> Expr:
        method = getattr(self, "ex_" + type(node).__name__, None)
        if method is None:
            raise self.fail(node, "expression %s" % type(node).__name__)
        return method(node)

    def ex_Const(self, node: A.Const) -> Expr:
        v = node.value
        return lambda f: v

    def ex_Var(self, node: A.Var) -> Expr:
        name, qualifier = node.name.lower(), node.scope
        if node.splat:
            raise self.fail(node, "splatting @%s outside a command" % node.name)
        if qualifier == "env":
            return lambda f: _env_get(f, name)
        if name == "true":
            return lambda f: True
        if name == "false":
            return lambda f: False
        if name == "null":
            return lambda f: None
        if name == "?":
            return lambda f: f.rs.last_ok
        if name == "psitem":
            name = "_"
        if name in _UNMODELLED_VARS:
            raise self.fail(node, "the automatic variable $%s" % node.name)
        if qualifier is None:
            return lambda f: f.get(name)
        return lambda f: f.scope_for(qualifier).vars.get(name)

    def ex_Expand(self, node: A.Expand) -> Expr:
        parts: list = [p if isinstance(p, str) else self.expr(p) for p in node.parts]
        to_string = C.to_string

        def run(f: Frame) -> str:
            return "".join(p if isinstance(p, str) else to_string(p(f)) for p in parts)

        return run

    def ex_HashLit(self, node: A.HashLit, ordered: bool = False) -> Expr:
        seen: set = set()
        entries = []
        for key, value in node.entries:
            if isinstance(key, A.Const):
                folded = key.value.lower() if isinstance(key.value, str) else key.value
                if folded in seen:
                    raise self.fail(key, "duplicate key %r in a hash literal (a parse error in PowerShell)" % key.value)
                seen.add(folded)
            entries.append((self.expr(key), self.value(value)))

        def run(f: Frame) -> Hashtable:
            table = Hashtable(ordered=ordered)
            for k, v in entries:
                value = v(f)
                table[k(f)] = None if value is AUTOMATION_NULL else value
            return table

        return run

    def ex_ArrayLit(self, node: A.ArrayLit) -> Expr:
        items = [self.expr(i) for i in node.items]
        return lambda f: [_scalar(i(f)) for i in items]

    def ex_SubExpr(self, node: A.SubExpr) -> Expr:
        if node.kind == "paren":
            return self.value(node.body[0])
        body = self.block(node.body) if node.body else None
        if node.kind == "sub":

            def sub(f: Frame) -> Any:
                out: list = []
                if body is not None:
                    body(f, out)
                return collect(out)

            return sub

        def array(f: Frame) -> list:
            out: list = []
            if body is not None:
                body(f, out)
            return out

        return array

    def ex_Unary(self, node: A.Unary) -> Expr:
        operand = self.expr(node.operand)
        op = node.op
        if op in ("-not", "!"):
            truth = C.to_bool
            return lambda f: not truth(operand(f))
        if op == ",":
            return lambda f: [_scalar(operand(f))]
        if op == "-":
            return lambda f: _negate(operand(f))
        if op == "+":
            return lambda f: C.to_number(operand(f))
        if op == "-join":
            return lambda f: "".join(C.to_string(x) for x in C.to_list(operand(f)))
        if op == "-split":
            return lambda f: C.to_string(operand(f)).split()
        if op == "-bnot":
            return lambda f: ~C.to_integer(operand(f), C.INT64)
        raise self.fail(node, "unary operator %s" % op)

    def ex_Binary(self, node: A.Binary) -> Expr:
        op = node.op
        left = self.expr(node.left)
        if op in ("-is", "-isnot", "-as"):
            type_of = self.type_operand(node.right)
            if op == "-as":
                return lambda f: _as(f, left(f), type_of(f))
            want = op == "-is"
            return lambda f: type_of(f).is_instance(left(f)) == want
        right = self.expr(node.right)
        truth = C.to_bool
        if op == "-and":
            return lambda f: truth(left(f)) and truth(right(f))
        if op == "-or":
            return lambda f: truth(left(f)) or truth(right(f))
        binary = ops.binary
        return lambda f: binary(op, left(f), right(f), f)

    def type_operand(self, node: A.Node) -> Callable[[Frame], PSType]:
        file = self.file
        if isinstance(node, A.TypeLit):
            name, line = node.type, node.line
            return lambda f: resolve(name, file, line)
        ev = self.expr(node)

        def run(f: Frame) -> PSType:
            v = ev(f)
            if isinstance(v, PSType):
                return v
            return resolve(A.TypeName(C.to_string(v)), file, node.line)

        return run

    def ex_TypeLit(self, node: A.TypeLit) -> Expr:
        file, line, name = self.file, node.line, node.type
        return lambda f: resolve(name, file, line)

    def ex_Cast(self, node: A.Cast) -> Expr:
        low = node.type.name.lower()
        if low == "ordered" and not node.type.args and not node.type.array:
            if not isinstance(node.operand, A.HashLit):
                raise self.fail(node, "[ordered] on something else than a hash literal")
            return self.ex_HashLit(node.operand, ordered=True)
        operand = self.expr(node.operand)
        file, line, name = self.file, node.line, node.type
        if low == "void":

            def void(f: Frame) -> Any:
                operand(f)
                return AUTOMATION_NULL

            return void

        def cast(f: Frame) -> Any:
            return resolve(name, file, line).convert(f, operand(f))

        return cast

    def member_name(self, name: str | A.Node) -> Callable[[Frame], str]:
        if isinstance(name, str):
            return lambda f: name
        ev = self.expr(name)
        return lambda f: C.to_string(ev(f))

    def ex_Member(self, node: A.Member) -> Expr:
        mname = self.member_name(node.name)
        if node.static:
            type_of = self.type_operand(node.target)
            return lambda f: members.get_static(f, type_of(f), mname(f))
        target = self.expr(node.target)
        get = members.get_member
        if isinstance(node.name, str):
            literal = node.name
            return lambda f: get(target(f), literal)
        return lambda f: get(target(f), mname(f))

    def ex_Invoke(self, node: A.Invoke) -> Expr:
        mname = self.member_name(node.name)
        args = [self.expr(a) for a in node.args]
        if node.static:
            type_of = self.type_operand(node.target)
            return lambda f: members.invoke_static(f, type_of(f), mname(f), [_scalar(a(f)) for a in args])
        target = self.expr(node.target)
        return lambda f: members.invoke_method(f, target(f), mname(f), [_scalar(a(f)) for a in args])

    def ex_Index(self, node: A.Index) -> Expr:
        target = self.expr(node.target)
        index = self.expr(node.index)
        return lambda f: _get_index(target(f), index(f))

    def ex_ScriptBlockLit(self, node: A.ScriptBlockLit) -> Expr:
        block = node.block
        if block.params:
            raise self.fail(node, "a script block with parameters")
        body = self.block(block.body)
        return lambda f: ScriptBlockValue(block, f.session, body)

    def ex_IncDec(self, node: A.IncDec) -> Expr:
        getter = self.expr(node.target)
        store = self.store(node.target)
        delta, prefix = node.delta, node.prefix

        def run(f: Frame) -> Any:
            old = getter(f)
            new = ops.binary("+", 0 if is_null(old) else old, delta)
            store(f, new)
            return new if prefix else (0 if is_null(old) else old)

        return run

    def ex_Assign(self, node: A.Assign) -> Expr:
        return self.assign(node)

    # ------------------------------------------------------------------ commands
    def command(self, node: A.Command) -> Callable[[Frame, list | None], list]:
        from .invoke import compile_command

        return compile_command(self, node)


def _scalar(v: Any) -> Any:
    return None if v is AUTOMATION_NULL else v


def _negate(v: Any) -> Any:
    n = C.to_number(v)
    return -n


def _as(f: Frame, value: Any, t: PSType) -> Any:
    try:
        return t.convert(f, value)
    except PSRuntimeError:
        return None


def _get_index(target: Any, index: Any) -> Any:
    if is_null(target):
        raise error("Cannot index into a null array.", "NullArray", category="InvalidOperation")
    if isinstance(target, Hashtable):
        if isinstance(index, list):
            return [target[i] for i in index]
        return target[index]
    if isinstance(target, list | str):
        if isinstance(index, list):
            return [_get_index(target, i) for i in index]
        i = C.to_integer(index)
        if -len(target) <= i < len(target):
            return target[i]
        return None
    if isinstance(target, NetObject) and hasattr(target, "ps_index"):
        return target.ps_index(index)
    raise PSUnsupported("", 0, "indexing a %s" % C.type_name_of(target))


def _set_index(target: Any, index: Any, value: Any) -> None:
    value = None if value is AUTOMATION_NULL else value
    if isinstance(target, Hashtable):
        target[index] = value
        return
    if isinstance(target, list):
        i = C.to_integer(index)
        if not -len(target) <= i < len(target):
            raise error(
                "Index was outside the bounds of the array.",
                "System.IndexOutOfRangeException",
                exc_type="System.IndexOutOfRangeException",
                category="InvalidOperation",
            )
        target[i] = value
        return
    raise PSUnsupported("", 0, "assigning an index of a %s" % C.type_name_of(target))


def _env_key(f: Frame, name: str) -> str:
    for key in f.rs.env:
        if key.lower() == name:
            return key
    return name.upper() if name.isalpha() else name


def _env_get(f: Frame, name: str) -> Any:
    for key, value in f.rs.env.items():
        if key.lower() == name:
            return value
    return None


def _env_delete(f: Frame, name: str) -> None:
    for key in list(f.rs.env):
        if key.lower() == name:
            del f.rs.env[key]


def is_cmdlet(name: str) -> bool:
    return name.lower() in CMDLETS
