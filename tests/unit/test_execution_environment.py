"""execution-environment.yml: pins, tarballs, and what ``ansible-builder create`` makes of it.

The tarballs are built by tests/tools/ee_context.py into a temporary copy of the definition
(execution-environment.yml + requirements.txt), then ``ansible-builder create`` writes the build
context there. No container runtime is needed for that; the image build itself (podman/docker)
is not run here. The galaxy stage of the image build - ``ansible-galaxy collection install
-r requirements.yml`` in ``_build/`` - is replayed on this machine, offline, and ansible-builder's
introspection of the installed collections is checked for the Python dependencies.

awx.awx comes from the ``ansible`` 12.3.0 wheel (downloaded once with pip into build/ee/, which
is git-ignored) unless this Python has it installed.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOL_PATH = REPO_ROOT / "tests" / "tools" / "ee_context.py"
EE_FILE = REPO_ROOT / "execution-environment.yml"

pytestmark = pytest.mark.slow


def _load_tool():
    spec = importlib.util.spec_from_file_location("ee_context", TOOL_PATH)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


ee_context = _load_tool()


def _builder() -> str | None:
    candidate = Path(sys.executable).parent / "ansible-builder"
    return str(candidate) if candidate.is_file() else shutil.which("ansible-builder")


BUILDER = _builder()
needs_builder = pytest.mark.skipif(
    BUILDER is None,
    reason="ansible-builder is not installed in this venv (requirements/test-tools.txt pins ansible-builder==3.2.0; "
    "the compat venv does not install it)",
)


def _ee() -> dict:
    return yaml.safe_load(EE_FILE.read_text(encoding="utf-8"))


def _requirement_names(text: str) -> list[str]:
    names = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower())
    return names


def _pin(requirements: Path, package: str) -> str:
    match = re.search(rf"^{re.escape(package)}==(\S+)", requirements.read_text(encoding="utf-8"), re.MULTILINE)
    assert match, f"{requirements} pins no {package}"
    return match.group(1)


# --------------------------------------------------------------------------- the definition
def test_definition_pins_and_sources():
    ee = _ee()
    galaxy = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text(encoding="utf-8"))
    deps = ee["dependencies"]

    assert ee["version"] == 3
    assert ee["images"]["base_image"]["name"], "a base image must be named"
    # ansible-core: the main venv's tested pin; ansible-runner is what AWX drives jobs with.
    core = _pin(REPO_ROOT / "requirements" / "test-main.txt", "ansible-core")
    assert deps["ansible_core"]["package_pip"] == f"ansible-core=={core}"
    assert deps["ansible_runner"]["package_pip"].startswith("ansible-runner==")
    # The collection's own requirements file, not a copy that could drift.
    assert deps["python"] == "requirements.txt"
    assert (REPO_ROOT / deps["python"]).is_file()

    files = {Path(f["src"]).name: f for f in ee["additional_build_files"]}
    for entry in deps["galaxy"]["collections"]:
        assert entry["type"] == "file", f"{entry['name']}: Galaxy is unreachable, collections come as tarballs"
        assert entry["name"].startswith("collections/") and entry["name"].endswith(".tar.gz")
        tarball = Path(entry["name"]).name
        assert tarball in files, f"{tarball} is installed but not shipped with additional_build_files"
        assert files[tarball]["dest"] == "collections"
        assert files[tarball]["src"] == f"build/ee/collections/{tarball}"
    names = ee_context.ee_tarballs(ee)
    assert names.get(f"{galaxy['namespace']}-{galaxy['name']}-{galaxy['version']}.tar.gz") == "mdeops.defender", (
        "the collection tarball in execution-environment.yml does not carry galaxy.yml's version"
    )
    assert set(names.values()) == {"mdeops.defender", "ansible.windows", "awx.awx"}
    # ansible.windows in the EE satisfies the collection's dependency range.
    windows = next(n for n, fqcn in names.items() if fqcn == "ansible.windows")
    major = int(windows[len("ansible-windows-") :].split(".")[0])
    assert galaxy["dependencies"]["ansible.windows"] == ">=3.0.0,<4.0.0" and major == 3
    assert ee["build_arg_defaults"]["ANSIBLE_GALAXY_CLI_COLLECTION_OPTS"] == "--offline"
    assert ee["options"]["tags"] == [f"mdeops-defender-ee:{galaxy['version']}"], "tag the image with the version"


def test_galaxy_yml_from_manifest_keeps_only_galaxy_keys():
    manifest = {
        "collection_info": {
            "namespace": "ns",
            "name": "coll",
            "version": "1.2.3",
            "authors": ["a"],
            "readme": "README.md",
            "license": ["GPL-3.0-or-later"],
            "license_file": "COPYING",
            "dependencies": {},
            "tags": [],
            "issues": None,
        },
        "format": 1,
    }
    galaxy = ee_context.galaxy_yml_from_manifest(manifest)
    assert galaxy == {
        "namespace": "ns",
        "name": "coll",
        "version": "1.2.3",
        "authors": ["a"],
        "readme": "README.md",
        "license": ["GPL-3.0-or-later"],
    }


# --------------------------------------------------------------------------- ansible-builder create
@pytest.fixture(scope="module")
def context(tmp_path_factory):
    """A temporary copy of the definition, its tarballs, and the ansible-builder create output."""
    if BUILDER is None:
        pytest.skip("ansible-builder is not installed")
    from ansible.release import __version__ as core_version

    if core_version.startswith("2.19."):
        # The EE pins the main environment's collections (ansible 14.x: ansible.windows 3.8.0); its
        # tarballs are built from what is installed, which the compatibility run does not have.
        pytest.skip("the execution environment is built from the main environment, not ansible-core %s" % core_version)
    root = tmp_path_factory.mktemp("ee")
    shutil.copy2(EE_FILE, root / EE_FILE.name)
    shutil.copy2(REPO_ROOT / "requirements.txt", root / "requirements.txt")
    build_dir = root / "build" / "ee"
    tarballs = ee_context.build_tarballs(build_dir, _ee(), cache_dir=ee_context.DEFAULT_BUILD_DIR)
    ctx = ee_context.builder_create(root / EE_FILE.name, build_dir / "context")
    return {"root": root, "context": ctx, "tarballs": tarballs}


@needs_builder
def test_create_writes_containerfile_with_pins(context):
    ee = _ee()
    containerfile = (context["context"] / "Containerfile").read_text(encoding="utf-8")
    assert f'ARG EE_BASE_IMAGE="{ee["images"]["base_image"]["name"]}"' in containerfile
    refs = re.search(r'^ARG ANSIBLE_INSTALL_REFS="([^"]*)"', containerfile, re.MULTILINE)
    assert refs, containerfile
    assert ee["dependencies"]["ansible_core"]["package_pip"] in refs.group(1).split()
    assert ee["dependencies"]["ansible_runner"]["package_pip"] in refs.group(1).split()
    assert 'ARG ANSIBLE_GALAXY_CLI_COLLECTION_OPTS="--offline"' in containerfile
    assert "ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml" in containerfile
    assert "COPY _build /build" in containerfile
    # the Python requirements reach the builder stage's introspection
    assert "--user-pip=requirements.txt" in containerfile


@needs_builder
def test_create_ships_requirements_and_tarballs(context):
    build = context["context"] / "_build"
    wanted = _requirement_names((REPO_ROOT / "requirements.txt").read_text(encoding="utf-8"))
    assert {"pywinrm", "msal"} <= set(wanted)
    shipped = _requirement_names((build / "requirements.txt").read_text(encoding="utf-8"))
    assert set(wanted) <= set(shipped), f"_build/requirements.txt lacks {set(wanted) - set(shipped)}"

    galaxy_reqs = yaml.safe_load((build / "requirements.yml").read_text(encoding="utf-8"))
    assert galaxy_reqs["collections"] == _ee()["dependencies"]["galaxy"]["collections"]

    for tarball in context["tarballs"]:
        copied = build / "collections" / tarball.name
        assert copied.is_file(), f"{tarball.name} is not in _build/collections"
        assert copied.read_bytes() == tarball.read_bytes()
    for entry in galaxy_reqs["collections"]:
        fqcn = ee_context.ee_tarballs({"dependencies": {"galaxy": {"collections": [entry]}}})
        ((file_name, name),) = fqcn.items()
        with tarfile.open(build / entry["name"]) as tar:
            info = json.loads(tar.extractfile("MANIFEST.json").read())["collection_info"]
        assert f"{info['namespace']}.{info['name']}" == name
        assert f"{info['namespace']}-{info['name']}-{info['version']}.tar.gz" == file_name


@needs_builder
def test_galaxy_stage_installs_offline_and_introspects(context, tmp_path):
    """Replay the image's galaxy stage here, then the builder stage's introspection."""
    build = context["context"] / "_build"
    dest = tmp_path / "collections"
    galaxy = str(Path(sys.executable).parent / "ansible-galaxy")
    proc = subprocess.run(
        [galaxy, "collection", "install", "--offline", "-r", "requirements.yml", "--collections-path", str(dest)],
        cwd=build,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for fqcn in ("mdeops/defender", "ansible/windows", "awx/awx"):
        assert (dest / "ansible_collections" / fqcn / "MANIFEST.json").is_file(), f"{fqcn} not installed"

    proc = subprocess.run([BUILDER, "introspect", "--sanitize", str(dest)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = yaml.safe_load(proc.stdout.split("\n", 1)[1])
    python = _requirement_names("\n".join(line.split("  # from collection")[0] for line in data["python"]))
    assert {"pywinrm", "msal", "requests"} <= set(python), data["python"]
    assert "awxkit" in python, data["python"]


@needs_builder
def test_tarball_name_mismatch_is_refused(context, tmp_path):
    ee = _ee()
    entry = ee["dependencies"]["galaxy"]["collections"][0]
    entry["name"] = re.sub(r"-\d+\.\d+\.\d+\.tar\.gz$", "-9.9.9.tar.gz", entry["name"])
    with pytest.raises(SystemExit, match=r"(?s)do not match what was built.*9\.9\.9"):
        ee_context.build_tarballs(tmp_path / "ee", ee, cache_dir=ee_context.DEFAULT_BUILD_DIR)
