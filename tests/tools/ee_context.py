#!/usr/bin/env python
"""Prepare the execution environment build context: the collection bundle, then ansible-builder create.

    python tests/tools/ee_context.py [--build-dir build/ee] [--galaxy [--server URL]] [--no-create]
    python tests/tools/ee_context.py --awx-only      # just awx.awx, for ansible-lint / syntax-check

execution-environment.yml builds the image from the bundle that ``ansible-galaxy collection
download`` writes into ``<build-dir>/collections/``: the collections' tarballs and a
requirements.yml that installs exactly them, offline. This script makes that bundle with
ansible-galaxy itself, in one of two ways:

- ``--galaxy``: what users do - ``ansible-galaxy collection download -r ee-requirements.yml``
  against Galaxy (or ``--server``: Automation Hub, a private Galaxy), the collections as published;
- default, for machines without Galaxy access (this project's CI): the same download, from local
  tarballs in place of Galaxy's - this repository built with ``ansible-galaxy collection build``
  (the artifact that is published), and ansible.windows and awx.awx packed from installed copies
  of the versions ee-requirements.yml pins (ansible.windows from the installed ``ansible``
  package; awx.awx from ``--awx-source``, ``MDE_EE_AWX_SOURCE``, this Python, or the ``ansible``
  12.3.0 wheel - which bundles awx.awx 24.6.1 - downloaded once with ``pip download --no-deps``
  into ``<build-dir>/downloads/``). Packing an installed copy writes a galaxy.yml from its
  MANIFEST.json in a scratch copy and builds that (ecosystem-notes section 1).

Either way the bundle must hold the versions ee-requirements.yml pins; a mismatch stops the script
with both. Then, unless ``--no-create``, ``ansible-builder create`` writes ``<build-dir>/context/``
(Containerfile + _build/). Building the image needs podman or docker:
``ansible-builder build -f execution-environment.yml -c build/ee/context``.

``build/`` is git-ignored and excluded from the Galaxy build.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
EE_FILE = REPO_ROOT / "execution-environment.yml"
EE_REQUIREMENTS = REPO_ROOT / "ee-requirements.yml"
DEFAULT_BUILD_DIR = REPO_ROOT / "build" / "ee"
# A community package that bundles awx.awx 24.6.1 (12.3.0 and 13.8.0 do, 14.5.0 does not); the compat
# venv's pin, and unlike 13.x its wheel can be downloaded from Python 3.11 too.
AWX_WHEEL_REQUIREMENT = "ansible==12.3.0"
AWX_WHEEL_PREFIX = "ansible_collections/awx/awx/"
# collection_info keys that galaxy.yml accepts (ansible-galaxy collection build).
GALAXY_KEYS = (
    "namespace",
    "name",
    "version",
    "authors",
    "readme",
    "tags",
    "description",
    "license",
    "license_file",
    "dependencies",
    "repository",
    "documentation",
    "homepage",
    "issues",
)


def log(msg: str) -> None:
    print(f"[ee-context] {msg}", file=sys.stderr, flush=True)


def tool(name: str) -> str:
    """The console script ``name`` of this Python's environment, else the one on PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.is_file():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"[ee-context] FAIL: {name} not found (next to {sys.executable} or on PATH)")
    return found


def run(cmd: list[str], cwd: Path | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(
            f"[ee-context] FAIL: {' '.join(cmd)} (rc={proc.returncode})\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return proc.stdout


# --------------------------------------------------------------------------- the EE definition
def load_ee(ee_file: Path = EE_FILE) -> dict:
    return yaml.safe_load(ee_file.read_text(encoding="utf-8"))


def pinned_collections(requirements: Path = EE_REQUIREMENTS) -> dict[str, str]:
    """``{'namespace.name': version}`` of the Galaxy requirements file of the EE."""
    data = yaml.safe_load(requirements.read_text(encoding="utf-8"))
    return {entry["name"]: str(entry["version"]) for entry in data["collections"]}


# --------------------------------------------------------------------------- collection sources
def installed_collection(namespace: str, name: str, search: list[str] | None = None) -> Path | None:
    """The directory of an installed collection (with MANIFEST.json) on this Python's paths."""
    roots = search if search is not None else [sysconfig.get_paths()[k] for k in ("purelib", "platlib")] + sys.path
    for root in roots:
        if not root:
            continue
        candidate = Path(root) / "ansible_collections" / namespace / name
        if (candidate / "MANIFEST.json").is_file():
            return candidate
    return None


@contextlib.contextmanager
def _locked(build_dir: Path) -> Iterator[None]:
    """Serialise the download/unpack between concurrent callers (pytest-xdist workers)."""
    build_dir.mkdir(parents=True, exist_ok=True)
    with open(build_dir / ".lock", "w", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def fetch_awx_from_wheel(build_dir: Path) -> Path:
    """Download the ansible 12.3.0 wheel once and unpack only awx.awx; return the collection dir."""
    with _locked(build_dir):
        return _fetch_awx_from_wheel(build_dir)


def _fetch_awx_from_wheel(build_dir: Path) -> Path:
    src_root = build_dir / "src"
    target = src_root / "ansible_collections" / "awx" / "awx"
    if (target / "MANIFEST.json").is_file():
        return target
    downloads = build_dir / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    wheels = sorted(downloads.glob("ansible-12.3.0-*.whl"))
    if not wheels:
        log(f"awx.awx: pip download --no-deps {AWX_WHEEL_REQUIREMENT} (it bundles awx.awx)")
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--disable-pip-version-check",
                AWX_WHEEL_REQUIREMENT,
                "-d",
                str(downloads),
            ]
        )
        wheels = sorted(downloads.glob("ansible-12.3.0-*.whl"))
        if not wheels:
            raise SystemExit(f"[ee-context] FAIL: pip download left no ansible-12.3.0 wheel in {downloads}")
    staging = Path(tempfile.mkdtemp(prefix="awx-", dir=build_dir))
    try:
        with zipfile.ZipFile(wheels[0]) as whl:
            members = [m for m in whl.namelist() if m.startswith(AWX_WHEEL_PREFIX) and not m.endswith("/")]
            if not members:
                raise SystemExit(f"[ee-context] FAIL: {wheels[0].name} holds no {AWX_WHEEL_PREFIX}")
            for member in members:
                whl.extract(member, staging)
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        (staging / AWX_WHEEL_PREFIX).rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log(f"awx.awx: unpacked into {target}")
    return target


def awx_source(build_dir: Path, explicit: str | None = None) -> Path:
    """Where awx.awx comes from: --awx-source, MDE_EE_AWX_SOURCE, this Python, else the 12.3.0 wheel."""
    for candidate in (explicit, os.environ.get("MDE_EE_AWX_SOURCE")):
        if candidate:
            path = Path(candidate)
            if (path / "MANIFEST.json").is_file():
                return path
            nested = path / "ansible_collections" / "awx" / "awx"
            if (nested / "MANIFEST.json").is_file():
                return nested
            raise SystemExit(f"[ee-context] FAIL: {candidate} is not an installed awx.awx (no MANIFEST.json)")
    return installed_collection("awx", "awx") or fetch_awx_from_wheel(build_dir)


def awx_collections_path(build_dir: Path = DEFAULT_BUILD_DIR, explicit: str | None = None) -> Path:
    """A directory to put on ANSIBLE_COLLECTIONS_PATH so that awx.awx resolves (.../ansible_collections/..)."""
    return awx_source(build_dir, explicit).parents[2]


# --------------------------------------------------------------------------- the bundle
def build_repo_collection(out: Path) -> Path:
    """``ansible-galaxy collection build`` of this repository: the tarball that is published."""
    galaxy = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text(encoding="utf-8"))
    run([tool("ansible-galaxy"), "collection", "build", "--force", "--output-path", str(out), str(REPO_ROOT)])
    tarball = out / f"{galaxy['namespace']}-{galaxy['name']}-{galaxy['version']}.tar.gz"
    if not tarball.is_file():
        raise SystemExit(f"[ee-context] FAIL: ansible-galaxy collection build did not write {tarball}")
    return tarball


def galaxy_yml_from_manifest(manifest: dict) -> dict:
    info = manifest["collection_info"]
    galaxy = {key: info[key] for key in GALAXY_KEYS if info.get(key) not in (None, "", [], {})}
    if "license" in galaxy and "license_file" in galaxy:  # galaxy.yml allows only one of them
        del galaxy["license_file"]
    galaxy.setdefault("readme", "README.md")
    galaxy.setdefault("authors", ["unknown"])
    return galaxy


def pack_installed_collection(source: Path, out: Path) -> Path:
    """A Galaxy tarball of an installed collection (a stand-in for the one Galaxy serves)."""
    manifest = json.loads((source / "MANIFEST.json").read_text(encoding="utf-8"))
    galaxy = galaxy_yml_from_manifest(manifest)
    with tempfile.TemporaryDirectory(prefix="ee-coll-") as tmp:
        copy = Path(tmp) / f"{galaxy['namespace']}.{galaxy['name']}"
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), symlinks=False)
        for generated in ("MANIFEST.json", "FILES.json"):
            (copy / generated).unlink(missing_ok=True)
        (copy / "galaxy.yml").write_text(yaml.safe_dump(galaxy, sort_keys=False), encoding="utf-8")
        run([tool("ansible-galaxy"), "collection", "build", "--force", "--output-path", str(out), str(copy)])
    tarball = out / f"{galaxy['namespace']}-{galaxy['name']}-{galaxy['version']}.tar.gz"
    if not tarball.is_file():
        raise SystemExit(f"[ee-context] FAIL: packing {source} did not write {tarball}")
    return tarball


def local_sources(work: Path, pins: dict[str, str], awx_from: str | None = None, cache_dir: Path | None = None) -> Path:
    """A requirements file of local tarballs standing in for Galaxy's (``type: file``); returns its path."""
    out = work / "sources"
    out.mkdir(parents=True, exist_ok=True)
    galaxy = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text(encoding="utf-8"))
    own = f"{galaxy['namespace']}.{galaxy['name']}"
    entries = []
    for fqcn in pins:
        namespace, name = fqcn.split(".")
        if fqcn == own:
            tarball = build_repo_collection(out)
        elif fqcn == "awx.awx":
            tarball = pack_installed_collection(awx_source(cache_dir or work, awx_from), out)
        else:
            source = installed_collection(namespace, name)
            if source is None:
                raise SystemExit(f"[ee-context] FAIL: {fqcn} is not installed with this Python ({sys.executable})")
            tarball = pack_installed_collection(source, out)
        entries.append({"name": str(tarball), "type": "file"})
        log(f"{fqcn}: local source {tarball.name}")
    path = work / "local-sources.yml"
    path.write_text(yaml.safe_dump({"collections": entries}, sort_keys=False), encoding="utf-8")
    return path


def download_bundle(requirements: Path, dest: Path, server: str | None = None) -> Path:
    """``ansible-galaxy collection download -r requirements -p dest``; returns the bundle's requirements.yml."""
    if dest.exists():
        shutil.rmtree(dest)
    cmd = [tool("ansible-galaxy"), "collection", "download", "-r", str(requirements), "-p", str(dest)]
    if server:
        cmd += ["--server", server]
    run(cmd)
    bundle = dest / "requirements.yml"
    if not bundle.is_file():
        raise SystemExit(f"[ee-context] FAIL: ansible-galaxy collection download wrote no {bundle}")
    return bundle


def bundle_versions(bundle: Path) -> dict[str, str]:
    """``{'namespace.name': version}`` of a downloaded bundle, read from its tarballs' MANIFEST.json."""
    out = {}
    for entry in yaml.safe_load(bundle.read_text(encoding="utf-8"))["collections"]:
        with tarfile.open(bundle.parent / entry["name"]) as tar:
            member = tar.extractfile("MANIFEST.json")
            if member is None:
                raise SystemExit(f"[ee-context] FAIL: {entry['name']} has no MANIFEST.json")
            info = json.loads(member.read())["collection_info"]
        out[f"{info['namespace']}.{info['name']}"] = str(info["version"])
    return out


def make_bundle(
    build_dir: Path,
    requirements: Path = EE_REQUIREMENTS,
    from_galaxy: bool = False,
    server: str | None = None,
    awx_from: str | None = None,
    cache_dir: Path | None = None,
) -> Path:
    """The download bundle in ``<build_dir>/collections``; checked against the pins. Returns its requirements.yml."""
    pins = pinned_collections(requirements)
    with tempfile.TemporaryDirectory(prefix="ee-sources-", dir=_mkdir(build_dir)) as tmp:
        source = requirements if from_galaxy else local_sources(Path(tmp), pins, awx_from, cache_dir or build_dir)
        bundle = download_bundle(source, build_dir / "collections", server)
    got = bundle_versions(bundle)
    wrong = [
        f"{fqcn}: {requirements.name} pins {v}, the bundle has {got.get(fqcn)}"
        for fqcn, v in pins.items()
        if got.get(fqcn) != v
    ]
    if wrong:
        raise SystemExit(
            "[ee-context] FAIL: the downloaded bundle does not hold the pinned versions "
            "(update the pins, or install those versions):\n  " + "\n  ".join(wrong)
        )
    log(f"bundle {bundle.parent}: " + ", ".join(f"{k} {v}" for k, v in sorted(got.items())))
    return bundle


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


# --------------------------------------------------------------------------- ansible-builder
def check_build_files(ee_file: Path, ee: dict) -> None:
    """Every additional_build_files source must exist (paths are relative to the EE file)."""
    missing = [f["src"] for f in ee.get("additional_build_files", []) if not list(ee_file.parent.glob(f["src"]))]
    if missing:
        raise SystemExit(
            f"[ee-context] FAIL: {ee_file.name} ships files that are not there (relative to {ee_file.parent}): "
            + ", ".join(missing)
            + " - run the download first (is --build-dir <EE file dir>/build/ee?)"
        )


def builder_create(ee_file: Path, context: Path) -> Path:
    ee = load_ee(ee_file)
    check_build_files(ee_file, ee)
    galaxy = ee["dependencies"].get("galaxy")
    if isinstance(galaxy, str) and not (ee_file.parent / galaxy).is_file():
        raise SystemExit(f"[ee-context] FAIL: {galaxy} (the download bundle) is missing next to {ee_file.name}")
    if context.exists():
        shutil.rmtree(context)
    run(
        [
            tool("ansible-builder"),
            "create",
            "--file",
            str(ee_file),
            "--context",
            str(context),
            "--output-filename",
            "Containerfile",
        ],
        cwd=ee_file.parent,
    )
    return context


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--ee-file", type=Path, default=EE_FILE, help="execution environment definition")
    parser.add_argument("--requirements", type=Path, default=EE_REQUIREMENTS, help="the EE's Galaxy requirements")
    parser.add_argument(
        "--build-dir",
        type=Path,
        default=None,
        help="where collections/, src/, downloads/ and context/ go (default: build/ee next to the EE file)",
    )
    parser.add_argument("--galaxy", action="store_true", help="download the published collections from Galaxy")
    parser.add_argument("--server", help="with --galaxy: the Galaxy server (Automation Hub, a private Galaxy)")
    parser.add_argument("--awx-source", help="an installed awx.awx (directory with MANIFEST.json) to use")
    parser.add_argument("--no-create", action="store_true", help="make the bundle only")
    parser.add_argument(
        "--awx-only",
        action="store_true",
        help="only make awx.awx available; print the directory to add to ANSIBLE_COLLECTIONS_PATH",
    )
    args = parser.parse_args(argv)
    ee_file = args.ee_file.resolve()
    build_dir = (args.build_dir or ee_file.parent / "build" / "ee").resolve()

    if args.awx_only:
        print(awx_collections_path(build_dir, args.awx_source))
        return 0

    make_bundle(build_dir, args.requirements.resolve(), args.galaxy, args.server, args.awx_source)
    if args.no_create:
        return 0
    context = builder_create(ee_file, build_dir / "context")
    log(f"build context: {context} (Containerfile + _build/)")
    log(f"next, on a machine with podman: ansible-builder build -f {ee_file.name} -c {context}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
