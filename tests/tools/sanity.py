#!/usr/bin/env python
"""Run `ansible-test sanity` offline, without pwsh and without docker.

1. Copy the repository (what git would commit: tracked + untracked-but-not-ignored files;
   no venvs, symlink farm or outputs) to <tmp>/ansible_collections/mdeops/defender, the
   layout ansible-test insists on.
2. Write the get-pip stand-in to ~/.ansible/test/cache/get_pip_<ver>.py for every pip
   version the installed ansible-test asks for (read from
   ansible_test/_internal/python_requirements.py).  ansible-test otherwise downloads the
   real get-pip from a CI file server that is unreachable here, and every sanity test with
   Python requirements FATALs.
3. ansible-test sanity --venv --python X.Y --skip-test validate-modules
   ansible-test sanity --venv --python X.Y --test validate-modules <plugins/**/*.py>
   (validate-modules aborts the whole run when it meets a .ps1 module and there is no pwsh;
   the second run still validates every documentation stub.)
4. Print every test that was skipped, and why; fail on any error.

Usage: python tests/tools/sanity.py [--python 3.12] [--keep] [--test NAME ...]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from git_files import git_files  # noqa: E402  (sibling module)

STAND_IN_MARKER = "# mdeops.defender get-pip stand-in"
STAND_IN = f'''{STAND_IN_MARKER} (written by tests/tools/sanity.py)
"""Offline stand-in for ansible-test's get-pip bootstrap script.

ansible-test runs this with a fresh venv's Python and the arguments
`[pip options] pip==<version> --no-setuptools --no-wheel`.  Bootstrap pip from the
standard library's ensurepip, then let pip install the requested pip version (from PyPI,
which is reachable) with the remaining arguments.
"""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
subprocess.check_call([sys.executable, "-m", "pip", "install", *args])
'''

# Never copied into the sanity tree, even if not git-ignored (fallback walk without git).
EXCLUDED_TOP = {
    ".git",
    "collections",
    "ansible_collections",
    "dist",
    "build",
    "reports",
    "context",
    ".ansible",
    ".cache",
    ".pytest_cache",
    ".ruff_cache",
    ".tox",
    "venv",
}
EXCLUDED_PARTS = {"__pycache__"}

# Skips that happen by construction of this script, printed with the others.
PS1_VALIDATE_MODULES_SKIP = (
    "on the PowerShell modules ({n} .ps1 file(s)): skipped - there is no pwsh to inspect "
    "their argument spec (ansible-test would abort the whole run); the .py documentation stubs are validated "
    "in the second run, and the PowerShell syntax is checked by `make ps-parse`"
)


def log(msg: str) -> None:
    print(f"[sanity] {msg}", flush=True)


def _wanted(rel: str) -> bool:
    parts = rel.split("/")
    return (
        parts[0] not in EXCLUDED_TOP
        and not parts[0].startswith(".venv")
        and not rel.startswith("tests/output/")
        and not EXCLUDED_PARTS.intersection(parts)
    )


def source_files(root: Path) -> list[str]:
    """Files git would commit (tracked + untracked, minus ignored), or a filtered walk without git."""
    listed = git_files(root)
    if listed is not None:
        files = sorted(set(listed))
    else:
        files = []
        for dirpath, dirnames, filenames in os.walk(root):
            rel = Path(dirpath).relative_to(root)
            dirnames[:] = [d for d in dirnames if _wanted((rel / d).as_posix())]
            files.extend((rel / f).as_posix() for f in filenames)
    return [f for f in files if _wanted(f) and ((root / f).exists() or (root / f).is_symlink())]


def build_tree(root: Path, dest_parent: Path) -> Path:
    galaxy = yaml.safe_load((root / "galaxy.yml").read_text(encoding="utf-8"))
    dest = dest_parent / "ansible_collections" / galaxy["namespace"] / galaxy["name"]
    dest.mkdir(parents=True)
    files = source_files(root)
    for rel in files:
        src = root / rel
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            target.symlink_to(os.readlink(src))
        else:
            shutil.copy2(src, target)
    log(f"copied {len(files)} files to {dest}")
    return dest


def wanted_pip_versions() -> list[str]:
    import ansible_test  # the ansible-test of the running venv

    text = (Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text(encoding="utf-8")
    body = text.split("def get_venv_packages", 1)[1].split("\ndef ", 1)[0]
    versions = sorted(set(re.findall(r"pip\s*=\s*['\"]([0-9][0-9.]*)['\"]", body)))
    if not versions:
        raise SystemExit(
            "sanity: cannot find the pip version in ansible_test/_internal/python_requirements.py; "
            "the get-pip stand-in logic needs updating for this ansible-test"
        )
    return versions


def write_get_pip_stand_ins() -> None:
    cache = Path.home() / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    for version in wanted_pip_versions():
        path = cache / f"get_pip_{version.replace('.', '_')}.py"
        if path.exists() and not path.read_text(encoding="utf-8", errors="replace").startswith(STAND_IN_MARKER):
            log(f"pip {version}: keeping the existing (real) bootstrap script {path}")
            continue
        if not path.exists() or path.read_text(encoding="utf-8") != STAND_IN:
            path.write_text(STAND_IN, encoding="utf-8")
            log(f"pip {version}: wrote get-pip stand-in {path}")
        else:
            log(f"pip {version}: get-pip stand-in in place ({path})")


def run_ansible_test(tree: Path, args: list[str], skips: dict[str, list[str]]) -> int:
    cmd = ["ansible-test", "sanity", *args]
    shown = " ".join(cmd[:12]) + (f" ... ({len(cmd) - 12} more)" if len(cmd) > 12 else "")
    log(f"$ {shown}")
    proc = subprocess.Popen(cmd, cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    current = "ansible-test"
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        m = re.match(r"Running sanity test [\"']([^\"']+)[\"']", line)
        if m:
            current = m.group(1)
        if line.startswith("WARNING") and ("kip" in line or "not found" in line):
            # ansible-test repeats some warnings at the end of the run: keep the first one only.
            if not any(line.strip() in reasons for reasons in skips.values()):
                skips.setdefault(current, []).append(line.strip())
    return proc.wait()


def junit_skips(tree: Path, skips: dict[str, list[str]]) -> None:
    """Add the skipped test cases recorded in ansible-test's junit files."""
    for xml in sorted((tree / "tests" / "output" / "junit").glob("*.xml")):
        try:
            root = ET.parse(xml).getroot()
        except ET.ParseError:
            continue
        for case in root.iter("testcase"):
            for skipped in case.findall("skipped"):
                name = re.sub(r"-python-[0-9.]+$", "", case.get("name") or "?")
                msg = skipped.get("message") or (skipped.text or "").strip() or "no reason given"
                if msg.startswith("No tests applicable"):
                    msg += " (ansible-test found no file of the kind this test checks, or could not run it)"
                skips.setdefault(name, []).append(f"junit: {msg}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="offline ansible-test sanity")
    ap.add_argument("--python", default=f"{sys.version_info[0]}.{sys.version_info[1]}")
    ap.add_argument("--keep", action="store_true", help="keep the temporary collection tree")
    ap.add_argument("--test", action="append", default=[], help="only this sanity test (repeatable)")
    opts = ap.parse_args(argv)

    started = time.monotonic()
    write_get_pip_stand_ins()
    tmp = Path(tempfile.mkdtemp(prefix="mdeops-sanity-"))
    skips: dict[str, list[str]] = {}
    failed: list[str] = []
    try:
        tree = build_tree(REPO_ROOT, tmp)
        common = ["--venv", "--python", opts.python, "--color", "no", "--junit", "-v"]
        # ansible-test looks for pythonX.Y on PATH; make sure it finds a working one (a pyenv
        # shim of an inactive version does not work) - the venv's own interpreter.
        bin_dir = Path(sys.executable).parent
        os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"

        ps1_modules = (
            sorted(p.relative_to(tree).as_posix() for p in (tree / "plugins" / "modules").glob("*.ps1"))
            if (tree / "plugins" / "modules").is_dir()
            else []
        )
        py_plugins = (
            sorted(p.relative_to(tree).as_posix() for p in (tree / "plugins").rglob("*.py") if p.name != "__init__.py")
            if (tree / "plugins").is_dir()
            else []
        )

        only = opts.test
        if not only or any(t != "validate-modules" for t in only):
            selection = [a for t in only if t != "validate-modules" for a in ("--test", t)]
            rc = run_ansible_test(tree, [*common, *selection, "--skip-test", "validate-modules"], skips)
            if rc:
                failed.append(f"ansible-test sanity (all but validate-modules) exited {rc}")
        if not only or "validate-modules" in only:
            if py_plugins:
                rc = run_ansible_test(tree, [*common, "--test", "validate-modules", *py_plugins], skips)
                if rc:
                    failed.append(f"ansible-test sanity --test validate-modules exited {rc}")
            else:
                skips.setdefault("validate-modules", []).append("no plugins/**/*.py targets yet - nothing to validate")
            if ps1_modules:
                skips.setdefault("validate-modules", []).append(PS1_VALIDATE_MODULES_SKIP.format(n=len(ps1_modules)))

        junit_skips(tree, skips)
    finally:
        if opts.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    print()
    log(f"skipped ({len(skips)} test(s)) - every skip, none hidden:")
    for test, reasons in sorted(skips.items()):
        for reason in dict.fromkeys(reasons):
            print(f"  - {test}: {reason}")
    if not skips:
        print("  (none)")
    elapsed = time.monotonic() - started
    if failed:
        for f in failed:
            log(f"FAILED: {f}")
        return 1
    log(f"passed (python {opts.python}, {elapsed:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
