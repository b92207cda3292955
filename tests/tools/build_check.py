#!/usr/bin/env python
"""Build the Galaxy tarball, check what is in it, install it offline and run ansible-doc on it.

1. ansible-galaxy collection build --output-path <tmp>
2. The tarball holds no tests/, simulator, venv, symlink farm, symlinks or generated files;
   it holds every plugins/, roles/, playbooks/, meta/ and docs/ file git would commit.
3. Install it into <tmp>/collections together with ansible.windows taken from the installed
   `ansible` package (offline: Galaxy is unreachable), with sys.path collection scanning off
   so only the installed copies are used.
4. For every plugin type, `ansible-doc -t TYPE -l mdeops.defender` discovers the plugins;
   each must render (`ansible-doc -t TYPE FQCN`) and parse (`--json`) with no error and no
   warning, and every plugin file of the repository must be among them.
5. `ansible-builder introspect` finds the controller requirements (requirements.txt).

Works with zero plugins too (then it builds, checks and installs only).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from git_files import git_files  # noqa: E402  (sibling module)

DOC_TYPES = [
    "module",
    "become",
    "cache",
    "callback",
    "cliconf",
    "connection",
    "httpapi",
    "inventory",
    "lookup",
    "netconf",
    "shell",
    "strategy",
    "vars",
    "filter",
    "test",
    "role",
]
# Plugin directories whose every <name>.py is one plugin named <name>.
ONE_FILE_ONE_PLUGIN = [t for t in DOC_TYPES if t not in ("module", "filter", "test", "role")]
FORBIDDEN = [
    (re.compile(r"^tests(/|$)"), "tests/ (unit/e2e tests, simulator, tools)"),
    (re.compile(r"winsim"), "the simulated Windows fleet"),
    (re.compile(r"(^|/)\.?venv[^/]*(/|$)"), "a virtualenv"),
    (re.compile(r"^collections(/|$)|(^|/)ansible_collections(/|$)"), "a collection symlink farm"),
    (re.compile(r"(^|/)__pycache__(/|$)|\.py[co]$"), "Python bytecode"),
    (re.compile(r"\.tar\.gz$"), "a tarball"),
    (re.compile(r"^(\.git|\.ci|\.github|requirements|reports|dist|build|context|\.ansible|\.cache)(/|$)"), "tooling"),
    (re.compile(r"^(\.pytest_cache|\.ruff_cache)(/|$)"), "a cache"),
    (
        re.compile(r"^(Makefile|pyproject\.toml|pytest\.ini|ansible\.cfg|\.ansible-lint|\.yamllint|\.gitignore)$"),
        "tooling",
    ),
]
REQUIRED = [
    "MANIFEST.json",
    "FILES.json",
    "README.md",
    "LICENSE",
    "CHANGELOG.md",
    "meta/runtime.yml",
    "requirements.txt",
    "changelogs/changelog.yaml",
]
# Repository content that must ship (when git would commit it).
SHIPPED_DIRS = ("plugins/", "roles/", "playbooks/", "meta/", "docs/", "changelogs/")
NOISE_RE = re.compile(r"\[(WARNING|ERROR|DEPRECATION WARNING)\]|^ERROR!|Traceback", re.MULTILINE)
# Warnings of ansible-core itself, not about our content (checked with core 2.21.5).
BENIGN = [
    # `ansible-doc -t role` scans every collection and trips over core's internal one.
    re.compile(r"Collection at '[^']*/ansible/_internal/ansible_collections/ansible/_protomatter' does not have"),
]


def noisy(text: str) -> str | None:
    """The first warning/error line of `text` that is not a known-benign one."""
    for line in text.splitlines():
        if NOISE_RE.search(line) and not any(b.search(line) for b in BENIGN):
            return line
    return None


problems: list[str] = []


def log(msg: str) -> None:
    print(f"[build-check] {msg}", flush=True)


def fail(msg: str) -> None:
    problems.append(msg)
    print(f"[build-check] FAIL: {msg}", flush=True)


def run(cmd: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)


def git_visible_files() -> list[str] | None:
    files = git_files(REPO_ROOT)
    return None if files is None else sorted(f for f in files if (REPO_ROOT / f).is_file())


def build(tmp: Path, env: dict[str, str]) -> Path:
    proc = run(["ansible-galaxy", "collection", "build", "--output-path", str(tmp / "dist")], env, REPO_ROOT)
    print(proc.stdout + proc.stderr, end="")
    if proc.returncode != 0:
        raise SystemExit(f"[build-check] FAIL: ansible-galaxy collection build exited {proc.returncode}")
    if noisy(proc.stdout + proc.stderr):
        fail("ansible-galaxy collection build printed a warning or error")
    tarballs = sorted((tmp / "dist").glob("*.tar.gz"))
    if len(tarballs) != 1:
        raise SystemExit(f"[build-check] FAIL: expected one tarball, found {tarballs}")
    return tarballs[0]


def check_tarball(tarball: Path) -> None:
    with tarfile.open(tarball) as tar:
        members = tar.getmembers()
        fh = tar.extractfile("MANIFEST.json")
        if fh is None:
            raise SystemExit("%s has no MANIFEST.json" % tarball)
        manifest = json.loads(fh.read())["collection_info"]
    names = {m.name.rstrip("/") for m in members}
    size_kb = tarball.stat().st_size / 1024
    log(f"{tarball.name}: {sum(m.isfile() for m in members)} files, {size_kb:.0f} KiB")
    for m in members:
        if m.issym() or m.islnk():
            fail(f"tarball member {m.name} is a link (-> {m.linkname})")
        for pattern, what in FORBIDDEN:
            if pattern.search(m.name):
                fail(f"tarball member {m.name} is {what} - add it to build_ignore in galaxy.yml")
                break
    for req in REQUIRED:
        if req not in names:
            fail(f"tarball lacks {req}")
    visible = git_visible_files()
    if visible is not None:
        missing = [f for f in visible if f.startswith(SHIPPED_DIRS) and "__pycache__" not in f and f not in names]
        for f in missing:
            fail(f"{f} is part of the collection but not in the tarball (build_ignore too broad?)")
    galaxy = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text(encoding="utf-8"))
    for key in ("namespace", "name", "version", "dependencies", "license"):
        if manifest.get(key) != galaxy.get(key):
            fail(f"MANIFEST.json {key}={manifest.get(key)!r} differs from galaxy.yml {galaxy.get(key)!r}")


def ansible_windows_source() -> Path:
    for key in ("purelib", "platlib"):
        candidate = Path(sysconfig.get_paths()[key]) / "ansible_collections" / "ansible" / "windows"
        if (candidate / "MANIFEST.json").is_file():
            return candidate
    raise SystemExit("[build-check] FAIL: ansible.windows not found in the installed `ansible` package")


def install(tarball: Path, dest: Path, env: dict[str, str], tmp: Path) -> None:
    windows = ansible_windows_source()
    cmd = ["ansible-galaxy", "collection", "install", str(tarball), str(windows), "-p", str(dest), "--offline"]
    proc = run(cmd, env, tmp)
    print(proc.stdout + proc.stderr, end="")
    if proc.returncode != 0:
        raise SystemExit(f"[build-check] FAIL: offline install exited {proc.returncode}")
    listing = run(["ansible-galaxy", "collection", "list", "--format", "json"], env, tmp)
    installed = {}
    for colls in json.loads(listing.stdout or "{}").values():
        installed.update({name: info["version"] for name, info in colls.items()})
    galaxy = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text(encoding="utf-8"))
    fqcn = f"{galaxy['namespace']}.{galaxy['name']}"
    if installed.get(fqcn) != galaxy["version"]:
        fail(f"{fqcn} {galaxy['version']} not installed (found {installed})")
    for dep in galaxy.get("dependencies") or {}:
        if dep not in installed:
            fail(f"dependency {dep} not installed next to {fqcn} (found {installed})")
    log(f"installed into {dest}: {installed}")


def repo_plugins() -> dict[str, set[str]]:
    """Plugins the repository has, by ansible-doc type (the files ansible-doc must list)."""
    found: dict[str, set[str]] = {t: set() for t in DOC_TYPES}
    modules = REPO_ROOT / "plugins" / "modules"
    if modules.is_dir():
        found["module"] = {p.stem for p in modules.iterdir() if p.suffix in (".py", ".ps1") and p.stem != "__init__"}
    for ptype in ONE_FILE_ONE_PLUGIN:
        pdir = REPO_ROOT / "plugins" / ptype
        if pdir.is_dir():
            found[ptype] = {p.stem for p in pdir.glob("*.py") if p.stem != "__init__" and not p.stem.startswith("_")}
    roles = REPO_ROOT / "roles"
    if roles.is_dir():
        found["role"] = {
            r.name
            for r in roles.iterdir()
            if (r / "meta" / "argument_specs.yml").is_file() or (r / "meta" / "argument_specs.yaml").is_file()
        }
    return found


def check_docs(fqcn: str, env: dict[str, str], tmp: Path) -> int:
    expected = repo_plugins()
    total = 0
    for ptype in DOC_TYPES:
        listing = run(["ansible-doc", "-t", ptype, "-l", fqcn, "--json"], env, tmp)
        if listing.returncode != 0:
            fail(f"ansible-doc -t {ptype} -l {fqcn}: rc {listing.returncode}\n{listing.stderr.strip()}")
            continue
        if noisy(listing.stderr):
            fail(f"ansible-doc -t {ptype} -l {fqcn} warns:\n{listing.stderr.strip()}")
        listed = json.loads(listing.stdout or "{}")
        names = sorted(listed)
        short = {n.rsplit(".", 1)[-1] for n in names}
        for missing in sorted(expected[ptype] - short):
            fail(f"{ptype} {fqcn}.{missing} is in the repository but ansible-doc does not list it (broken docs?)")
        for name in names:
            total += 1
            text = run(["ansible-doc", "-t", ptype, name], env, tmp)
            as_json = run(["ansible-doc", "-t", ptype, "--json", name], env, tmp)
            errors = []
            for what, proc in (("text", text), ("--json", as_json)):
                if proc.returncode != 0:
                    errors.append(f"{what}: rc {proc.returncode}")
                noise = [line for line in (proc.stderr + proc.stdout).splitlines() if noisy(line)]
                if noise:
                    errors.append(f"{what}: " + " | ".join(noise[:5]))
            try:
                data = json.loads(as_json.stdout)
                doc = data[name]["doc"] if ptype != "role" else data[name]
                if not doc:
                    errors.append("--json: empty doc")
            except (ValueError, KeyError, TypeError) as exc:
                errors.append(f"--json output does not parse as plugin docs: {exc!r}")
            if errors:
                fail(f"ansible-doc -t {ptype} {name}: " + "; ".join(errors))
            else:
                log(f"ansible-doc -t {ptype} {name}: ok")
    return total


def check_ee_introspection(dest: Path, env: dict[str, str], tmp: Path) -> None:
    if not shutil.which("ansible-builder", path=env["PATH"]):
        log("ansible-builder not installed in this venv - EE introspection not checked")
        return
    proc = run(["ansible-builder", "introspect", "--sanitize", str(dest)], env, tmp)
    if proc.returncode != 0:
        fail(f"ansible-builder introspect exited {proc.returncode}: {proc.stderr.strip()}")
        return
    wanted = [
        re.split(r"[<>=!~;\s\[]", line.strip(), maxsplit=1)[0].lower()
        for line in (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    found = proc.stdout.lower()
    for pkg in wanted:
        if f"{pkg}" not in found:
            fail(f"ansible-builder introspect does not report {pkg} from requirements.txt:\n{proc.stdout}")
    log(f"ansible-builder introspect: python deps {wanted} found")


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="mdeops-build-check-"))
    dest = tmp / "collections"
    empty_cfg = tmp / "ansible.cfg"  # keep the repository's ansible.cfg (collections_path) out of it
    empty_cfg.write_text("[defaults]\n", encoding="utf-8")
    env = dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=str(dest),
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="False",
        ANSIBLE_CONFIG=str(empty_cfg),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
    )
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    galaxy = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text(encoding="utf-8"))
    fqcn = f"{galaxy['namespace']}.{galaxy['name']}"
    try:
        tarball = build(tmp, env)
        check_tarball(tarball)
        install(tarball, dest, env, tmp)
        count = check_docs(fqcn, env, tmp)
        log(f"ansible-doc checked {count} plugin(s)/role(s) of {fqcn}")
        check_ee_introspection(dest, env, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if problems:
        log(f"FAILED: {len(problems)} problem(s)")
        return 1
    log("passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
