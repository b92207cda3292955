#!/usr/bin/env python
"""Do the tests notice a change to the collection's PowerShell? A mutation check.

Each mutant changes one thing in a copy of the repository, in one ``.ps1``/``.psm1``:

* ``key``: a result key (a ``$module.Result.<key>`` or a key of a hashtable literal) renamed,
  everywhere in that file;
* ``regname``: a registry value name or key path (a string literal naming one) changed;
* ``param``: a cmdlet parameter of a call renamed (``-Name`` → ``-NameX``) or, for a literal
  argument, its value changed.

and runs the given tests against the copy (default: the unit tests that run the real
PowerShell). A mutant the tests do not notice *survives*; the survivors are listed. The
working tree is never touched.

    python tests/tools/ps_mutants.py [--kind key,regname,param] [--file NAME] [--limit N]
                                     [--tests 'pytest args'] [--list]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("plugins/modules/*.ps1", "plugins/module_utils/*.psm1")
DEFAULT_TESTS = (
    "tests/unit/plugins/action tests/unit/plugins/modules/test_win_mde_onboarding_ps.py "
    "tests/unit/winsim/test_domain.py tests/unit/test_ps_contract.py tests/unit/test_ps_specs_match_docs.py"
)
# keys whose rename is not a change of the interface: Ansible.Basic's own and the spec's
SPEC_WORDS = {
    "type", "required", "default", "choices", "elements", "options", "no_log", "aliases",
    "supports_check_mode", "required_if", "required_one_of", "mutually_exclusive", "Function",
}  # fmt: skip
_RESULT_KEY = re.compile(r"\$module\.Result\.(\w+)\s*=")
_HASH_KEY = re.compile(r"^(\s+)(\w+) = ", re.M)
_REGISTRY = re.compile(r"'(HKLM:\\[^']+|[A-Z][A-Za-z]+(?:Mode|State|Info|Id|ID|Spyware|Monitoring|Operations)|UBR"
                       r"|[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12})'")  # fmt: skip
_GET_VALUE = re.compile(r"\.GetValue\('(\w+)'\)")
_PARAM = re.compile(r"(?<=\s)-([A-Z][A-Za-z]+)(?=[\s:])")
_PARAM_VALUE = re.compile(r"(?<=\s)-([A-Z][A-Za-z]+) '([^'$]+)'")


@dataclass
class Mutant:
    kind: str
    file: str
    line: int
    what: str
    text: str  # the whole mutated file

    def __str__(self) -> str:
        return "%s %s:%d %s" % (self.kind, self.file, self.line, self.what)


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _code_lines(text: str) -> set[int]:
    """Lines outside comments and comment-based help."""
    out, in_help = set(), False
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("<#"):
            in_help = True
        if not in_help and not stripped.startswith("#"):
            out.add(n)
        if stripped.endswith("#>"):
            in_help = False
    return out


def mutants(rel: str, text: str) -> list[Mutant]:
    code = _code_lines(text)
    out: list[Mutant] = []
    seen: set[str] = set()
    keys = {m.group(1) for m in _RESULT_KEY.finditer(text)} - {"changed"}
    for m in _HASH_KEY.finditer(text):
        if _line_of(text, m.start()) in code and m.group(2) not in SPEC_WORDS and not m.group(2)[0].isupper():
            keys.add(m.group(2))
    for key in sorted(keys):
        if key in seen or key.startswith("_"):
            continue
        seen.add(key)
        pattern = re.compile(r"(?<![\w$-])%s(?=\s*=[^=])|(?<=\.)%s\b" % (re.escape(key), re.escape(key)))
        first = pattern.search(text)
        if first is None:
            continue
        out.append(Mutant("key", rel, _line_of(text, first.start()), key, pattern.sub(key + "_x", text)))
    for m in [*_REGISTRY.finditer(text), *_GET_VALUE.finditer(text)]:
        line = _line_of(text, m.start())
        if line not in code:
            continue
        value = m.group(1)
        changed = value[:-1] + ("X" if value[-1] != "X" else "Y")
        out.append(Mutant("regname", rel, line, value, text[: m.start(1)] + changed + text[m.end(1) :]))
    for m in _PARAM.finditer(text):
        line = _line_of(text, m.start())
        name = m.group(1)
        if line not in code or name in ("ErrorAction",) or text[max(0, m.start() - 2) : m.start()].endswith("("):
            continue
        out.append(Mutant("param", rel, line, "-%s renamed" % name, text[: m.start(1)] + name + "X" + text[m.end(1) :]))
    for m in _PARAM_VALUE.finditer(text):
        line = _line_of(text, m.start())
        if line not in code:
            continue
        out.append(
            Mutant(
                "param",
                rel,
                line,
                "-%s '%s' changed" % m.groups(),
                text[: m.start(2)] + m.group(2) + "X" + text[m.end(2) :],
            )
        )
    return out


def copy_repo(dest: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    for rel in files:
        if not rel or not (REPO / rel).is_file():
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, target)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--kind", default="key,regname,param")
    parser.add_argument("--file", default=None, help="only mutants of files whose name contains this")
    parser.add_argument("--limit", type=int, default=0, help="a random sample of this many mutants")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tests", default=DEFAULT_TESTS, help="pytest arguments (paths, -m ...)")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    args = parser.parse_args()
    kinds = set(args.kind.split(","))
    todo: list[Mutant] = []
    for pattern in SOURCES:
        for file in sorted(REPO.glob(pattern)):
            rel = file.relative_to(REPO).as_posix()
            if args.file and args.file not in rel:
                continue
            todo += [m for m in mutants(rel, file.read_text(encoding="utf-8")) if m.kind in kinds]
    if args.limit and len(todo) > args.limit:
        todo = sorted(random.Random(args.seed).sample(todo, args.limit), key=lambda m: (m.file, m.line))
    if args.list:
        for m in todo:
            print(m)
        print("%d mutants" % len(todo))
        return 0
    survivors: list[Mutant] = []
    with tempfile.TemporaryDirectory(prefix="ps-mutants-") as tmp:
        root = Path(tmp) / "repo"
        copy_repo(root)
        cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *shlex.split(args.tests)]
        env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
        for n, mutant in enumerate(todo, 1):
            path = root / mutant.file
            original = path.read_text(encoding="utf-8")
            path.write_text(mutant.text, encoding="utf-8")
            started = time.monotonic()
            try:
                proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=3600, check=False)
            finally:
                path.write_text(original, encoding="utf-8")
            caught = proc.returncode != 0
            print(
                "[%d/%d] %s %s (%.0f s)"
                % (n, len(todo), "caught  " if caught else "SURVIVED", mutant, time.monotonic() - started),
                flush=True,
            )
            if not caught:
                survivors.append(mutant)
    print("\n%d mutants, %d caught, %d survived" % (len(todo), len(todo) - len(survivors), len(survivors)))
    for mutant in survivors:
        print("  survived: %s" % mutant)
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
