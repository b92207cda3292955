"""tree-sitter-pwsh parse tree → the compact syntax tree of ``ast.py``, once per script text.

``parse(text, name)`` caches by the SHA-256 of name and text: a fleet runs the same few scripts
thousands of times. A parse error or a construct this converter does not know raises
``PSUnsupported`` naming the file and line: nothing is guessed.
"""

from __future__ import annotations

import hashlib
import re
import threading
from typing import Any

from . import ast as A
from .errors import PSUnsupported

_LOCK = threading.Lock()
_CACHE: dict[str, A.Script] = {}
_PARSER: Any = None

_ASSIGN_OPS = {"=", "+=", "-=", "*=", "/=", "%="}
_INT_SUFFIX = re.compile(r"^(?P<num>.*?)(?P<long>[lL])?(?P<mult>kb|mb|gb|tb|pb)?$", re.I)
_MULTIPLIERS = {"kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40, "pb": 1 << 50}
_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "e": "\x1b"}
_REQUIRES = re.compile(r"(?im)^#AnsibleRequires\s+-(PowerShell|CSharpUtil)\s+(\S+)")
#: Nodes that only carry layout or documentation.
_SKIP = {"comment", "empty_statement", "command_argument_sep"}
#: Binary operator node types (expression and argument mode).
_BINARY = {
    "logical_expression",
    "logical_argument_expression",
    "bitwise_expression",
    "bitwise_argument_expression",
    "comparison_expression",
    "comparison_argument_expression",
    "additive_expression",
    "additive_argument_expression",
    "multiplicative_expression",
    "multiplicative_argument_expression",
    "format_expression",
    "format_argument_expression",
    "range_expression",
    "range_argument_expression",
}


def _ts_parser() -> Any:
    global _PARSER
    if _PARSER is None:
        import tree_sitter
        import tree_sitter_pwsh

        _PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_pwsh.language()))
    return _PARSER


def parse(text: str, name: str) -> A.Script:
    """The syntax tree of ``text`` (a script or module util called ``name``), from the cache when seen."""
    key = hashlib.sha256(name.encode("utf-8") + b"\0" + text.encode("utf-8")).hexdigest()
    script = _CACHE.get(key)
    if script is None:
        with _LOCK:
            script = _CACHE.get(key)
            if script is None:
                script = _Converter(text, name).script()
                _CACHE[key] = script
    return script


class _Converter:
    def __init__(self, text: str, name: str) -> None:
        self.text = text
        self.src = text.encode("utf-8")
        self.name = name
        self.lines: set[int] = set()
        self.functions: dict[str, int] = {}

    # ------------------------------------------------------------------ helpers
    def fail(self, node: Any, what: str) -> PSUnsupported:
        return PSUnsupported(self.name, node.start_point[0] + 1, what)

    def txt(self, node: Any) -> str:
        return self.src[node.start_byte : node.end_byte].decode("utf-8")

    @staticmethod
    def line(node: Any) -> int:
        return int(node.start_point[0]) + 1

    @staticmethod
    def named(node: Any) -> list:
        return [c for c in node.named_children if c.type not in _SKIP]

    def only(self, node: Any) -> Any:
        kids = self.named(node)
        if len(kids) != 1:
            raise self.fail(node, "%s with %d parts" % (node.type, len(kids)))
        return kids[0]

    # ------------------------------------------------------------------ script
    def script(self) -> A.Script:
        tree = _ts_parser().parse(self.src)
        root = tree.root_node
        if root.has_error:
            bad = _first_error(root)
            raise self.fail(bad, "parse error near %r" % self.txt(bad)[:60])
        params = None
        body: list = []
        for child in self.named(root):
            if child.type == "statement_list":
                body.extend(self.statements(child))
            elif child.type == "param_block":
                params, _attrs = self.param_block(child)
            else:
                raise self.fail(child, "top-level %s" % child.type)
        block = A.ScriptBlock(params, body, line=1, file=self.name)
        requires = [(kind.lower(), value) for kind, value in _REQUIRES.findall(self.text)]
        return A.Script(self.name, block, frozenset(self.lines), dict(self.functions), requires)

    def statements(self, node: Any) -> list:
        out = []
        for child in self.named(node):
            stmt = self.statement(child)
            if stmt is not None:
                out.append(stmt)
        return out

    def block(self, node: Any) -> list:
        """A ``statement_block`` ({ … })."""
        if node.type != "statement_block":
            raise self.fail(node, "expected a { } block, got %s" % node.type)
        body = node.child_by_field_name("statement_list")
        return self.statements(body) if body is not None else []

    # ------------------------------------------------------------------ statements
    def statement(self, node: Any) -> A.Node | None:
        kind = node.type
        method = getattr(self, "st_" + kind, None)
        if method is None:
            raise self.fail(node, "statement %s" % kind)
        stmt = method(node)
        if stmt is not None and not isinstance(stmt, A.FunctionDef):
            self.lines.add(stmt.line)
        return stmt

    def st_pipeline(self, node: Any) -> A.Node:
        kids = self.named(node)
        if len(kids) == 1 and kids[0].type == "assignment_expression":
            return self.assignment(kids[0])
        if len(kids) == 1 and kids[0].type == "pipeline_chain":
            return self.pipeline_chain(kids[0])
        raise self.fail(node, "pipeline chain operators (&&, ||)")

    def pipeline_chain(self, node: Any) -> A.Pipeline:
        elements = []
        for child in self.named(node):
            if child.type == "command":
                elements.append(self.command(child))
            else:
                if elements:
                    raise self.fail(child, "an expression after | in a pipeline")
                elements.append(self.expr(child))
        return A.Pipeline(self.line(node), elements)

    def assignment(self, node: Any) -> A.Assign:
        left = node.child_by_field_name("value")
        kids = self.named(node)
        target = self.expr(self.only(kids[0]))
        op = self.txt(kids[1])
        if op not in _ASSIGN_OPS:
            raise self.fail(node, "assignment operator %s" % op)
        if left is None:
            raise self.fail(node, "assignment without a value")
        if left.type == "assignment_value":
            inner = self.only(left)
            if inner.type == "pipeline_chain":
                value: A.Node = self.pipeline_chain(inner)
            elif inner.type == "assignment_expression":
                value = self.assignment(inner)
            else:
                value = self.statement(inner)
        else:
            value = self.statement(left)
        if not isinstance(target, A.Var | A.Member | A.Index | A.Cast):
            raise self.fail(node, "assignment to %s" % type(target).__name__)
        return A.Assign(self.line(node), target, op, value)

    def st_if_statement(self, node: Any) -> A.If:
        clauses = []
        cond = node.child_by_field_name("condition")
        blocks = [c for c in node.named_children if c.type == "statement_block"]
        clauses.append((self.st_pipeline(cond), self.block(blocks[0])))
        elifs = node.child_by_field_name("elseif_clauses")
        if elifs is not None:
            for clause in self.named(elifs):
                c = clause.child_by_field_name("condition")
                b = next(x for x in clause.named_children if x.type == "statement_block")
                clauses.append((self.st_pipeline(c), self.block(b)))
        orelse = None
        else_clause = node.child_by_field_name("else_clause")
        if else_clause is not None:
            orelse = self.block(next(x for x in else_clause.named_children if x.type == "statement_block"))
        return A.If(self.line(node), clauses, orelse)

    def st_foreach_statement(self, node: Any) -> A.Foreach:
        kids = self.named(node)
        var, iterable, body = kids[0], kids[1], kids[-1]
        if var.type != "variable" or len(kids) != 3:
            raise self.fail(node, "foreach form (-parallel or a parameter)")
        return A.Foreach(self.line(node), self.variable(var), self.st_pipeline(iterable), self.block(body))

    def st_while_statement(self, node: Any) -> A.While:
        cond = self.only(next(c for c in self.named(node) if c.type == "while_condition"))
        body = next(c for c in self.named(node) if c.type == "statement_block")
        return A.While(self.line(node), "while", self.st_pipeline(cond), self.block(body))

    def st_do_statement(self, node: Any) -> A.While:
        kinds = [c.type for c in node.children]
        kind = "do_until" if "until" in kinds else "do_while"
        cond = self.only(node.child_by_field_name("condition"))
        body = next(c for c in self.named(node) if c.type == "statement_block")
        return A.While(self.line(node), kind, self.st_pipeline(cond), self.block(body))

    def st_for_statement(self, node: Any) -> A.For:
        def part(field: str) -> A.Node | None:
            child = node.child_by_field_name(field)
            return self.st_pipeline(self.only(child)) if child is not None else None

        body = next(c for c in self.named(node) if c.type == "statement_block")
        return A.For(
            self.line(node), part("for_initializer"), part("for_condition"), part("for_iterator"), self.block(body)
        )

    def st_switch_statement(self, node: Any) -> A.Switch:
        flags: set[str] = set()
        value = None
        clauses: list = []
        for child in self.named(node):
            if child.type == "switch_parameters":
                for p in self.named(child):
                    flags.add(self.txt(p).lower().lstrip("-"))
            elif child.type == "switch_condition":
                value = self.st_pipeline(self.only(child))
            elif child.type == "switch_body":
                for group in self.named(child):
                    for clause in self.named(group):
                        cond_node = next(c for c in self.named(clause) if c.type == "switch_clause_condition")
                        body = next(c for c in self.named(clause) if c.type == "statement_block")
                        clauses.append((self.switch_condition(cond_node), self.block(body)))
            else:
                raise self.fail(child, "switch part %s" % child.type)
        unknown = flags - {"regex", "wildcard", "exact", "casesensitive"}
        if unknown or value is None:
            raise self.fail(node, "switch %s" % (sorted(unknown) or "without a value"))
        return A.Switch(self.line(node), value, clauses, frozenset(flags))

    def switch_condition(self, node: Any) -> A.Node | None:
        kids = self.named(node)
        text = self.txt(node).strip()
        if not kids and text.lower() == "default":
            return None
        if not kids:
            return A.Const(self.line(node), text)
        return self.expr(self.only(node))

    def st_try_statement(self, node: Any) -> A.Try:
        kids = self.named(node)
        body = self.block(kids[0])
        catches, final = [], None
        for child in kids[1:]:
            if child.type == "catch_clauses":
                for clause in self.named(child):
                    types: list[A.TypeName] = []
                    block = None
                    for part in self.named(clause):
                        if part.type == "catch_type_list":
                            types = [self.type_name(self.only(t)) for t in self.named(part)]
                        elif part.type == "statement_block":
                            block = self.block(part)
                    catches.append(A.Catch(self.line(clause), types, block or []))
            elif child.type == "finally_clause":
                final = self.block(self.only(child))
        return A.Try(self.line(node), body, catches, final)

    def st_flow_control_statement(self, node: Any) -> A.Flow:
        keyword = self.txt(node.children[0]).lower()
        kids = self.named(node)
        if keyword in ("return", "throw", "exit"):
            value = self.st_pipeline(kids[0]) if kids else None
            return A.Flow(self.line(node), keyword, value)
        if keyword in ("break", "continue"):
            if kids:
                raise self.fail(node, "labelled %s" % keyword)
            return A.Flow(self.line(node), keyword)
        raise self.fail(node, "flow control %s" % keyword)

    def st_function_statement(self, node: Any) -> A.FunctionDef:
        name_node = next(c for c in self.named(node) if c.type == "function_name")
        name = self.txt(name_node)
        sb = [c for c in self.named(node) if c.type == "script_block"]
        if [c for c in self.named(node) if c.type == "function_parameter_declaration"]:
            raise self.fail(node, "function parameters in parentheses (use param())")
        block = self.script_block(sb[0]) if sb else A.ScriptBlock(None, [], line=self.line(node), file=self.name)
        self.functions[name.lower()] = self.line(node)
        return A.FunctionDef(self.line(node), name, block)

    def script_block(self, node: Any) -> A.ScriptBlock:
        params, binding = None, False
        body: list = []
        for child in self.named(node):
            if child.type == "param_block":
                params, binding = self.param_block(child)
            elif child.type == "script_block_body":
                inner = self.only(child)
                if inner.type != "statement_list":
                    raise self.fail(child, "begin/process/end blocks")
                body = self.statements(inner)
            else:
                raise self.fail(child, "script block part %s" % child.type)
        return A.ScriptBlock(params, body, binding, line=self.line(node), file=self.name)

    def param_block(self, node: Any) -> tuple[list[A.ParamDecl], bool]:
        binding = False
        params: list[A.ParamDecl] = []
        for child in self.named(node):
            if child.type == "attribute_list":
                for attr in self.named(child):
                    name = self.txt(self.named(attr)[0]).lower()
                    if name not in ("cmdletbinding", "outputtype"):
                        raise self.fail(attr, "script attribute [%s]" % name)
                    binding = binding or name == "cmdletbinding"
            elif child.type == "parameter_list":
                for p in self.named(child):
                    params.extend(self.parameter(p, len(params)))
            else:
                raise self.fail(child, "param block part %s" % child.type)
        return params, binding

    def parameter(self, node: Any, position: int) -> list[A.ParamDecl]:
        decl = A.ParamDecl(name="", type=None, default=None, line=self.line(node))
        decl.attributes["order"] = position
        more: list[A.ParamDecl] = []
        for child in self.named(node):
            if child.type == "attribute_list":
                for attr in self.named(child):
                    self.param_attribute(attr, decl)
            elif child.type == "variable":
                decl.name = self.variable(child).name
            elif child.type == "script_parameter_default":
                value = self.only(child)
                if value.type == "array_literal_expression":
                    # tree-sitter-pwsh reads "$a = 1,<newline>[T]$b" as an array default; PowerShell
                    # never does (a default cannot be a bare array): the rest are parameters.
                    items = self.named(value)
                    decl.default = self.expr(items[0])
                    for extra in items[1:]:
                        more.append(self._misparsed_parameter(extra, position + 1 + len(more)))
                else:
                    decl.default = self.expr(value)
            else:
                raise self.fail(child, "parameter part %s" % child.type)
        return [decl, *more]

    def _misparsed_parameter(self, node: Any, position: int) -> A.ParamDecl:
        expr = self.expr(node)
        type_: A.TypeName | None = None
        if isinstance(expr, A.Cast):
            type_, expr = expr.type, expr.operand
        if not isinstance(expr, A.Var):
            raise self.fail(node, "a parameter declaration the grammar misreads (put it on its own line)")
        decl = A.ParamDecl(name=expr.name, type=type_, default=None, line=self.line(node))
        decl.attributes["order"] = position
        return decl

    def param_attribute(self, attr: Any, decl: A.ParamDecl) -> None:
        kids = self.named(attr)
        if len(kids) == 1 and kids[0].type == "type_literal":
            decl.type = self.type_name(kids[0])
            return
        name = self.txt(kids[0]).lower()
        args: list = []
        named: dict[str, Any] = {}
        for arg_list in kids[1:]:
            for arg in self.named(arg_list):
                parts = self.named(arg)
                if len(parts) == 2 and parts[0].type == "simple_name":
                    named[self.txt(parts[0]).lower()] = self.const(parts[1])
                elif len(parts) == 1 and parts[0].type == "simple_name":
                    named[self.txt(parts[0]).lower()] = True
                else:
                    args.append(self.const(self.only(arg)))
        if name == "parameter":
            unknown = set(named) - {"mandatory", "position", "valuefrompipeline"}
            if unknown or args:
                raise self.fail(attr, "[Parameter()] arguments %s" % sorted(unknown or ["positional"]))
            decl.mandatory = bool(named.get("mandatory", False))
            if "position" in named:
                decl.position = int(named["position"])
            decl.attributes["valuefrompipeline"] = bool(named.get("valuefrompipeline", False))
        elif name in ("allowemptycollection", "allownull", "allowemptystring"):
            decl.attributes[name] = True
        elif name == "validateset":
            values: list = []
            for a in args:
                values.extend(a if isinstance(a, list) else [a])
            decl.attributes["validateset"] = values
        else:
            raise self.fail(attr, "parameter attribute [%s]" % name)

    def const(self, node: Any) -> Any:
        """An attribute argument: a constant the parser folds (strings, numbers, $true/$false, lists)."""
        expr = self.expr(node)
        if isinstance(expr, A.Const):
            return expr.value
        if isinstance(expr, A.Var) and expr.name.lower() in ("true", "false"):
            return expr.name.lower() == "true"
        if isinstance(expr, A.ArrayLit) and all(isinstance(i, A.Const) for i in expr.items):
            return [i.value for i in expr.items]  # type: ignore[attr-defined]
        if isinstance(expr, A.Expand) and all(isinstance(p, str) for p in expr.parts):
            return "".join(expr.parts)
        raise self.fail(node, "a non-constant attribute argument")

    # ------------------------------------------------------------------ commands
    def command(self, node: Any) -> A.Command:
        call_op = None
        name: str | A.Node | None = None
        args: list = []
        redirects: list[A.Redirect] = []
        for child in node.named_children:
            if child.type == "command_invocation_operator":
                call_op = self.txt(child)
            elif child.type == "command_name":
                name = self.txt(child)
            elif child.type == "command_name_expr":
                inner = self.named(child)
                if len(inner) == 1 and inner[0].type == "command_name":
                    name = self.txt(inner[0])
                else:
                    name = self.expr(self.only(child))
            elif child.type == "path_command_name":
                name = self.txt(child)
            elif child.type == "command_elements":
                args, redirects = self.command_elements(child)
            elif child.type not in _SKIP:
                raise self.fail(child, "command part %s" % child.type)
        if name is None:
            raise self.fail(node, "a command without a name")
        if isinstance(name, str) and re.match(r"^\d", name):
            raise self.fail(node, "a number or range in command position (%s)" % name)
        return A.Command(self.line(node), name, args, call_op, redirects)

    def command_elements(self, node: Any) -> tuple[list, list[A.Redirect]]:
        args: list = []
        redirects: list[A.Redirect] = []
        pending: A.Param | None = None
        for child in node.named_children:
            if child.type == "command_argument_sep":
                if pending is not None and self.txt(child).strip() == ":":
                    pending.colon = True
                continue
            if child.type == "comment":
                continue
            if child.type == "command_parameter":
                text = self.txt(child)
                colon = text.endswith(":")
                pending = A.Param(self.line(child), text.lstrip("-").rstrip(":"), None, colon)
                args.append(pending)
                continue
            if child.type == "redirection":
                redirects.append(self.redirection(child))
                continue
            value = self.argument(child)
            if pending is not None:
                pending.value = value
                pending = None
            else:
                args.append(value)
        return args, redirects

    def argument(self, node: Any) -> A.Node:
        if node.type == "generic_token":
            return A.Const(self.line(node), self.txt(node))
        if node.type == "array_literal_expression" or node.type in _BINARY:
            return self.expr(node)
        if node.type == "unary_expression":
            inner = self.only(node)
            if inner.type == "variable" and self.txt(inner).startswith("@"):
                return self.variable(inner)
            return self.expr(inner)
        if node.type in ("expandable_string_literal", "string_literal"):
            return self.expr(node)
        if node.type == "bareword_argument_list":
            return A.ArrayLit(self.line(node), [self.argument(c) for c in self.named(node)])
        raise self.fail(node, "command argument %s" % node.type)

    def redirection(self, node: Any) -> A.Redirect:
        kids = self.named(node)
        op = self.txt(kids[0])
        if kids[0].type == "merging_redirection_operator":
            if op != "2>&1":
                raise self.fail(node, "redirection %s" % op)
            return A.Redirect(self.line(node), "2", "&1")
        target_node = self.only(kids[1]) if len(kids) > 1 else None
        if target_node is None:
            raise self.fail(node, "redirection %s without a target" % op)
        target = self.argument(target_node) if target_node.type != "variable" else self.variable(target_node)
        stream = op.rstrip(">") or "1"
        if stream not in ("1", "2"):
            raise self.fail(node, "redirection of stream %s" % stream)
        return A.Redirect(self.line(node), stream, target, append=op.endswith(">>"))

    # ------------------------------------------------------------------ expressions
    def expr(self, node: Any) -> A.Node:
        kind = node.type
        if kind == "unary_expression" or kind == "argument_expression":
            return self.expr(self.only(node))
        if kind in _BINARY:
            named = [c for c in node.children if c.type not in _SKIP]
            if len(named) != 3:
                raise self.fail(node, "%s with %d parts" % (kind, len(named)))
            op = self.txt(named[1]).lower()
            if op.startswith("-i") and op not in ("-in", "-is", "-isnot"):
                op = "-" + op[2:]  # -ieq is -eq
            return A.Binary(self.line(node), op, self.expr(named[0]), self.expr(named[2]))
        method = getattr(self, "ex_" + kind, None)
        if method is None:
            raise self.fail(node, "expression %s" % kind)
        return method(node)

    def ex_variable(self, node: Any) -> A.Var:
        return self.variable(node)

    def variable(self, node: Any) -> A.Var:
        text = self.txt(node)
        splat = text.startswith("@")
        body = text[1:]
        if body.startswith("{") and body.endswith("}"):
            body = body[1:-1]
        scope = None
        if ":" in body:
            scope, _sep, body = body.partition(":")
            scope = scope.lower()
            if scope not in ("global", "script", "local", "env", "private"):
                raise self.fail(node, "variable drive %s:" % scope)
        return A.Var(self.line(node), body, scope, splat)

    def ex_integer_literal(self, node: Any) -> A.Const:
        text = self.txt(node)
        match = _INT_SUFFIX.match(text)
        assert match is not None
        num = match.group("num")
        value = int(num, 16) if num.lower().startswith("0x") else int(num)
        if match.group("mult"):
            value *= _MULTIPLIERS[match.group("mult").lower()]
        return A.Const(self.line(node), value)

    def ex_real_literal(self, node: Any) -> A.Const:
        text = self.txt(node)
        if text[-1:].lower() in ("d", "l") or text[-2:].lower() in ("kb", "mb", "gb"):
            raise self.fail(node, "number literal %s" % text)
        return A.Const(self.line(node), float(text))

    def ex_string_literal(self, node: Any) -> A.Node:
        inner = self.only(node)
        text = self.txt(inner)
        if inner.type == "verbatim_string_characters":
            return A.Const(self.line(node), text[1:-1].replace("''", "'"))
        if inner.type == "verbatim_here_string_characters":
            return A.Const(self.line(node), _here_body(text))
        if inner.type in ("expandable_string_literal", "expandable_here_string_literal"):
            return self.expandable(inner, here=inner.type == "expandable_here_string_literal")
        raise self.fail(node, "string %s" % inner.type)

    def expandable(self, node: Any, here: bool) -> A.Node:
        text = self.txt(node)
        start = node.start_byte
        if here:
            open_len = text.index("\n") + 1
            body_end = len(text.encode("utf-8")) - len(text) + text.rindex("\n")
        else:
            open_len, body_end = 1, len(text.encode("utf-8")) - 1
        parts: list = []
        pos = start + open_len
        for child in node.named_children:
            if child.type not in ("variable", "sub_expression"):
                continue
            parts.append(_unescape(self.src[pos : child.start_byte].decode("utf-8"), here))
            if child.type == "variable":
                parts.append(self.variable(child))
            else:
                parts.append(self.ex_sub_expression(child))
            pos = child.end_byte
        parts.append(_unescape(self.src[pos : start + body_end].decode("utf-8"), here))
        parts = [p for p in parts if p != ""]
        if all(isinstance(p, str) for p in parts):
            return A.Const(self.line(node), "".join(parts))
        return A.Expand(self.line(node), parts)

    def ex_expandable_string_literal(self, node: Any) -> A.Node:
        return self.expandable(node, here=False)

    def body_of(self, node: Any) -> list:
        stmts = node.child_by_field_name("statements")
        return self.statements(stmts) if stmts is not None else []

    def ex_sub_expression(self, node: Any) -> A.SubExpr:
        return A.SubExpr(self.line(node), "sub", self.body_of(node))

    def ex_array_expression(self, node: Any) -> A.SubExpr:
        return A.SubExpr(self.line(node), "array", self.body_of(node))

    def ex_parenthesized_expression(self, node: Any) -> A.SubExpr:
        inner = self.only(node)
        if inner.type != "pipeline":
            raise self.fail(node, "parenthesized %s" % inner.type)
        return A.SubExpr(self.line(node), "paren", [self.st_pipeline(inner)])

    def ex_hash_literal_expression(self, node: Any) -> A.HashLit:
        entries = []
        body = [c for c in self.named(node) if c.type == "hash_literal_body"]
        for entry in self.named(body[0]) if body else []:
            parts = self.named(entry)
            key_node, value_node = parts[0], parts[-1]
            key_inner = self.only(key_node)
            key = (
                A.Const(self.line(key_inner), self.txt(key_inner))
                if key_inner.type == "simple_name"
                else self.expr(key_inner)
            )
            if value_node.type == "pipeline":
                value: A.Node = self.st_pipeline(value_node)
            else:
                value = self.statement(value_node)  # type: ignore[assignment]
            entries.append((key, value))
        return A.HashLit(self.line(node), entries)

    def ex_array_literal_expression(self, node: Any) -> A.ArrayLit:
        return A.ArrayLit(self.line(node), [self.expr(c) for c in self.named(node)])

    def ex_expression_with_unary_operator(self, node: Any) -> A.Node:
        kids = node.children
        first = kids[0]
        if first.type == "cast_expression":
            return self.ex_cast_expression(first)
        if first.type in ("pre_increment_expression", "pre_decrement_expression"):
            return self.expr(first)
        op = self.txt(first).lower()
        operand = self.expr(next(c for c in kids[1:] if c.is_named))
        if op in ("-not", "!", "-", "+", ",", "-bnot", "-split", "-join"):
            if op == "," and not isinstance(operand, A.Node):
                raise self.fail(node, "unary comma")
            return A.Unary(self.line(node), op, operand)
        raise self.fail(node, "unary operator %s" % op)

    def ex_cast_expression(self, node: Any) -> A.Node:
        kids = self.named(node)
        type_ = self.type_name(kids[0])
        return A.Cast(self.line(node), type_, self.expr(kids[1]))

    def ex_pre_increment_expression(self, node: Any) -> A.IncDec:
        return A.IncDec(self.line(node), self.expr(self.only(node)), 1, True)

    def ex_pre_decrement_expression(self, node: Any) -> A.IncDec:
        return A.IncDec(self.line(node), self.expr(self.only(node)), -1, True)

    def ex_post_increment_expression(self, node: Any) -> A.IncDec:
        return A.IncDec(self.line(node), self.expr(self.only(node)), 1, False)

    def ex_post_decrement_expression(self, node: Any) -> A.IncDec:
        return A.IncDec(self.line(node), self.expr(self.only(node)), -1, False)

    def ex_type_literal(self, node: Any) -> A.TypeLit:
        return A.TypeLit(self.line(node), self.type_name(node))

    def type_name(self, node: Any) -> A.TypeName:
        if node.type == "type_literal":
            node = self.only(node)
        if node.type != "type_spec":
            raise self.fail(node, "type %s" % node.type)
        kids = self.named(node)
        head = kids[0]
        if head.type == "type_name" and len(kids) == 1:
            return A.TypeName(self.txt(head))
        if head.type == "array_type_name" and len(kids) == 1:
            return A.TypeName(self.txt(self.only(head)), array=True)
        if head.type == "generic_type_name" and len(kids) == 2 and kids[1].type == "generic_type_arguments":
            args = tuple(self.type_name(t) for t in self.named(kids[1]))
            return A.TypeName(self.txt(self.only(head)), args)
        raise self.fail(node, "type %s" % self.txt(node))

    def member_name(self, node: Any) -> str | A.Node:
        inner = self.only(node)
        if inner.type == "simple_name":
            return self.txt(inner)
        return self.expr(inner)

    def ex_member_access(self, node: Any) -> A.Member:
        kids = node.children
        target = self.expr(kids[0])
        op = self.txt(kids[1])
        return A.Member(self.line(node), target, self.member_name(kids[2]), op == "::")

    def ex_invocation_expression(self, node: Any) -> A.Invoke:
        kids = node.children
        target = self.expr(kids[0])
        op = self.txt(kids[1])
        name = self.member_name(kids[2])
        arg_node = kids[3].child_by_field_name("argument_expression_list")
        args = [self.expr(a) for a in self.named(arg_node)] if arg_node is not None else []
        return A.Invoke(self.line(node), target, name, args, op == "::")

    def ex_element_access(self, node: Any) -> A.Index:
        kids = [c for c in node.children if c.is_named and c.type not in _SKIP]
        return A.Index(self.line(node), self.expr(kids[0]), self.expr(kids[1]))

    def ex_script_block_expression(self, node: Any) -> A.ScriptBlockLit:
        sb = [c for c in self.named(node) if c.type == "script_block"]
        block = self.script_block(sb[0]) if sb else A.ScriptBlock(None, [], line=self.line(node), file=self.name)
        return A.ScriptBlockLit(self.line(node), block)

    def ex_pipeline(self, node: Any) -> A.Node:
        return A.SubExpr(self.line(node), "paren", [self.st_pipeline(node)])


def _first_error(node: Any) -> Any:
    stack = [node]
    while stack:
        current = stack.pop(0)
        if current.is_error or current.is_missing:
            return current
        stack[:0] = [c for c in current.children if c.has_error or c.is_missing]
    return node


def _here_body(text: str) -> str:
    """The body of a here-string ``@'\\n…\\n'@`` (without its first and last line breaks)."""
    first = text.index("\n") + 1
    last = text.rindex("\n")
    body = text[first:last]
    return body[:-1] if body.endswith("\r") else body


def _unescape(text: str, here: bool) -> str:
    """Backtick escapes of an expandable string; ``""`` is one quote outside here-strings."""
    if "`" not in text and ('""' not in text or here):
        return text
    out = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "`" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        if ch == '"' and not here and text[i + 1 : i + 2] == '"':
            out.append('"')
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)
