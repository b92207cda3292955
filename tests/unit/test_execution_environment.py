"""execution-environment.yml: pins, the download bundle, and what ``ansible-builder create`` makes of it.

The image is built from the bundle ``ansible-galaxy collection download`` writes from
ee-requirements.yml (the collections as published). Galaxy is unreachable here, so the bundle is
downloaded by ansible-galaxy from local tarballs standing in for Galaxy's (tests/tools/ee_context.py:
this repository built with ``ansible-galaxy collection build``; ansible.windows and awx.awx packed
from installed copies of the pinned versions), into a temporary copy of the definition. Then
``ansible-builder create`` writes the build context there. No container runtime is needed for that;
the image build itself (podman/docker) is not run here. The galaxy stage of the image build -
``ansible-galaxy collection install -r requirements.yml`` in ``_build/`` - is replayed on this
machine, offline, and ansible-builder's introspection of the installed collections is checked for
the Python dependencies.

awx.awx comes from the ``ansible`` 12.3.0 wheel (downloaded once with pip into build/ee/, which
is git-ignored) unless this Python has it installed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from tests.tools import ee_context

REPO_ROOT = Path(__file__).resolve().parents[2]
EE_FILE = REPO_ROOT / "execution-environment.yml"

pytestmark = pytest.mark.slow


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
    # The collections come from the download bundle, installed offline, and nothing else.
    assert deps["galaxy"] == "build/ee/collections/requirements.yml"
    assert ee["additional_build_files"] == [{"src": "build/ee/collections/*.tar.gz", "dest": "."}]
    assert ee["build_arg_defaults"]["ANSIBLE_GALAXY_CLI_COLLECTION_OPTS"] == "--offline"
    assert ee["options"]["tags"] == [f"mdeops-defender-ee:{galaxy['version']}"], "tag the image with the version"
    # Every way of signing in that docs/inventory.md describes: extras and the Kerberos system packages.
    python = {re.split(r"[<>=!~;\s]", line, maxsplit=1)[0] for line in deps["python"]}
    assert python == {"pywinrm[kerberos,credssp]", "pypsrp[kerberos,credssp]"}
    assert _pin(REPO_ROOT / "requirements" / "controller.txt", "pywinrm") in " ".join(deps["python"])
    system = {line.split()[0]: line for line in deps["system"]}
    assert {"krb5-libs", "krb5-workstation", "krb5-devel", "gcc", "python3-devel"} == set(system)
    for build_only in ("krb5-devel", "gcc", "python3-devel"):
        assert "compile" in system[build_only], f"{build_only} is only needed to build the Kerberos bindings"
    assert "compile" not in system["krb5-libs"] and "compile" not in system["krb5-workstation"]
    # The collection's own requirements reach the image through introspection (meta/execution-environment.yml).
    meta = yaml.safe_load((REPO_ROOT / "meta" / "execution-environment.yml").read_text(encoding="utf-8"))
    assert meta["dependencies"]["python"] == "requirements.txt"


def test_collection_pins():
    galaxy = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text(encoding="utf-8"))
    pins = ee_context.pinned_collections()
    assert set(pins) == {"mdeops.defender", "ansible.windows", "awx.awx"}
    assert pins["mdeops.defender"] == galaxy["version"], "ee-requirements.yml must name this version"
    major = int(pins["ansible.windows"].split(".")[0])
    assert galaxy["dependencies"]["ansible.windows"] == ">=3.0.0,<4.0.0" and major == 3
    # the pinned ansible.windows is the one the main environment (ansible 14.x) is tested with
    from importlib.metadata import version

    if version("ansible").startswith("14."):
        bundled = json.loads(
            (Path(ee_context.installed_collection("ansible", "windows")) / "MANIFEST.json").read_text(encoding="utf-8")
        )["collection_info"]["version"]
        assert pins["ansible.windows"] == bundled
    # both files ship with the collection (not build-ignored): the EE builds from the published tarball
    ignored = set(galaxy["build_ignore"])
    assert "execution-environment.yml" not in ignored and "ee-requirements.yml" not in ignored


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
    """A temporary copy of the definition, its download bundle, and the ansible-builder create output."""
    if BUILDER is None:
        pytest.skip("ansible-builder is not installed")
    from ansible.release import __version__ as core_version

    if core_version.startswith("2.19."):
        # The EE pins the main environment's collections (ansible 14.x: ansible.windows 3.8.0); its
        # stand-in tarballs are packed from what is installed, which the compatibility run does not have.
        pytest.skip("the execution environment is built from the main environment, not ansible-core %s" % core_version)
    root = tmp_path_factory.mktemp("ee")
    shutil.copy2(EE_FILE, root / EE_FILE.name)
    shutil.copy2(REPO_ROOT / "ee-requirements.yml", root / "ee-requirements.yml")
    build_dir = root / "build" / "ee"
    bundle = ee_context.make_bundle(build_dir, root / "ee-requirements.yml", cache_dir=ee_context.DEFAULT_BUILD_DIR)
    ctx = ee_context.builder_create(root / EE_FILE.name, build_dir / "context")
    return {"root": root, "context": ctx, "bundle": bundle}


@needs_builder
def test_bundle_is_what_ansible_galaxy_download_writes(context):
    bundle = context["bundle"]
    entries = yaml.safe_load(bundle.read_text(encoding="utf-8"))["collections"]
    assert {e["name"] for e in entries} == {p.name for p in bundle.parent.glob("*.tar.gz")}
    assert all(set(e) == {"name", "version"} for e in entries), "the download's own format"
    assert ee_context.bundle_versions(bundle) == ee_context.pinned_collections(context["root"] / "ee-requirements.yml")


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
    # the Python and system requirements reach the builder stage's introspection
    assert "--user-pip=requirements.txt" in containerfile and "--user-bindep=bindep.txt" in containerfile


@needs_builder
def test_create_ships_the_bundle_and_the_extras(context):
    build = context["context"] / "_build"
    shipped = (build / "requirements.txt").read_text(encoding="utf-8").split()
    assert "pywinrm[kerberos,credssp]==0.5.0" in shipped and any(
        s.startswith("pypsrp[kerberos,credssp]") for s in shipped
    )
    bindep = (build / "bindep.txt").read_text(encoding="utf-8")
    assert "krb5-devel [platform:rpm compile]" in bindep and "krb5-workstation [platform:rpm]" in bindep

    assert (build / "requirements.yml").read_bytes() == context["bundle"].read_bytes()
    for tarball in context["bundle"].parent.glob("*.tar.gz"):
        copied = build / tarball.name
        assert copied.is_file(), f"{tarball.name} is not in _build/"
        assert copied.read_bytes() == tarball.read_bytes()
    for entry in yaml.safe_load((build / "requirements.yml").read_text(encoding="utf-8"))["collections"]:
        with tarfile.open(build / entry["name"]) as tar:
            info = json.loads(tar.extractfile("MANIFEST.json").read())["collection_info"]
        assert f"{info['namespace']}-{info['name']}-{info['version']}.tar.gz" == entry["name"]
        assert str(entry["version"]) == info["version"]


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
    wanted = _requirement_names((REPO_ROOT / "requirements.txt").read_text(encoding="utf-8"))
    assert {"pywinrm", "msal", "requests"} <= set(wanted) <= set(python), data["python"]
    assert "awxkit" in python, data["python"]


@needs_builder
def test_version_mismatch_is_refused(context, tmp_path):
    requirements = tmp_path / "ee-requirements.yml"
    data = yaml.safe_load((REPO_ROOT / "ee-requirements.yml").read_text(encoding="utf-8"))
    for entry in data["collections"]:
        if entry["name"] == "ansible.windows":
            entry["version"] = "3.9.9"
    requirements.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(SystemExit, match=r"(?s)does not hold the pinned versions.*ansible\.windows.*3\.9\.9"):
        ee_context.make_bundle(tmp_path / "ee", requirements, cache_dir=ee_context.DEFAULT_BUILD_DIR)


def test_create_refuses_without_the_bundle(tmp_path):
    shutil.copy2(EE_FILE, tmp_path / EE_FILE.name)
    with pytest.raises(SystemExit, match="run the download first"):
        ee_context.builder_create(tmp_path / EE_FILE.name, tmp_path / "context")
