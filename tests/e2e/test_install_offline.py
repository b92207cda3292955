"""Installing the collection as the README says, offline, and running it from the thin AWX project.

Galaxy is unreachable here. The bundle a connected machine would make with
``ansible-galaxy collection download mdeops.defender:<version>`` is made by the same command from
local tarballs standing in for Galaxy's (this repository built with ``ansible-galaxy collection
build``; ansible.windows packed from the installed ``ansible`` package - tests/tools/ee_context.py).
Then each offline way of the README installs it into a collections path of its own, and the thin
project of docs/awx/ runs ``verify.yml`` against the simulated fleet with nothing but that installed
copy (no checkout on the collections path, no scan of the Python packages' collections): its
``import_playbook`` finds the collection's playbook and its ``ansible.cfg`` turns the report on.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import BIN_DIR
from tests.e2e.invariants import Invariants

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text(encoding="utf-8"))
VERSION = str(GALAXY["version"])
ORG = "3b2f6c1e-7d4a-4e8b-9c1f-2a6d8e0b4c71"
WS = {"os": "windows11_23h2", "third_party_av": [{"name": "CrowdStrike Falcon"}], "onboarded_org": ORG}


def _ee_context():
    spec = importlib.util.spec_from_file_location("ee_context", ROOT / "tests" / "tools" / "ee_context.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def galaxy_cmd(*args: str, cwd: Path) -> str:
    proc = subprocess.run(
        [str(BIN_DIR / "ansible-galaxy"), "collection", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": f"{BIN_DIR}:/usr/bin:/bin", "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "False", "HOME": str(cwd)},
    )
    assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    assert "Galaxy" not in proc.stderr, "the offline install must not try Galaxy: " + proc.stderr
    return proc.stdout


def installed(path: Path) -> dict[str, str]:
    out = {}
    for ns in (path / "ansible_collections").iterdir():
        for coll in ns.iterdir():
            info = json.loads((coll / "MANIFEST.json").read_text(encoding="utf-8"))["collection_info"]
            out[f"{info['namespace']}.{info['name']}"] = info["version"]
    return out


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """The directory ``ansible-galaxy collection download mdeops.defender:<version>`` writes."""
    ee_context = _ee_context()
    work = tmp_path_factory.mktemp("download")
    # the ansible.windows this environment has (the download stands in for Galaxy with it)
    source = ee_context.installed_collection("ansible", "windows")
    windows = json.loads((source / "MANIFEST.json").read_text(encoding="utf-8"))["collection_info"]["version"]
    pins = work / "wanted.yml"
    pins.write_text(
        yaml.safe_dump(
            {
                "collections": [
                    {"name": "mdeops.defender", "version": VERSION},
                    {"name": "ansible.windows", "version": windows},
                ]
            }
        ),
        encoding="utf-8",
    )
    requirements = ee_context.make_bundle(work / "build", pins, cache_dir=ee_context.DEFAULT_BUILD_DIR)
    offline = work / "mdeops-offline"
    shutil.copytree(requirements.parent, offline)  # what is carried to the machine without Galaxy
    return offline


def test_the_readme_names_these_ways():
    for command in (
        "ansible-galaxy collection install mdeops.defender",
        "ansible-galaxy collection install -r collections/requirements.yml",
        f"ansible-galaxy collection download mdeops.defender:{VERSION} -p mdeops-offline",
        "ansible-galaxy collection install -r requirements.yml --offline",
        f"ansible-galaxy collection install mdeops-defender-{VERSION}.tar.gz ansible-windows-",
        "type: file",
        "make build-check",
    ):
        assert command in README, command


def test_install_the_downloaded_bundle_offline(bundle, tmp_path):
    dest = tmp_path / "collections"
    galaxy_cmd("install", "-r", "requirements.yml", "--offline", "-p", str(dest), cwd=bundle)
    got = installed(dest)
    assert got["mdeops.defender"] == VERSION and got["ansible.windows"].startswith("3.")


def test_install_the_tarballs_side_by_side(bundle, tmp_path):
    dest = tmp_path / "collections"
    windows = next(bundle.glob("ansible-windows-*.tar.gz")).name
    galaxy_cmd("install", f"mdeops-defender-{VERSION}.tar.gz", windows, "--offline", "-p", str(dest), cwd=bundle)
    assert set(installed(dest)) == {"mdeops.defender", "ansible.windows"}


def test_install_from_a_requirements_file_of_tarballs(bundle, tmp_path):
    windows = next(bundle.glob("ansible-windows-*.tar.gz")).name
    (bundle / "files.yml").write_text(
        "collections:\n"
        f"  - name: ./mdeops-defender-{VERSION}.tar.gz\n    type: file\n"
        f"  - name: ./{windows}\n    type: file\n",
        encoding="utf-8",
    )
    dest = tmp_path / "collections"
    galaxy_cmd("install", "-r", "files.yml", "--offline", "-p", str(dest), cwd=bundle)
    assert set(installed(dest)) == {"mdeops.defender", "ansible.windows"}


def test_thin_awx_project_runs_from_the_installed_collection(bundle, winsim, tmp_path):
    dest = tmp_path / "collections"
    galaxy_cmd("install", "-r", "requirements.yml", "--offline", "-p", str(dest), cwd=bundle)
    project = tmp_path / "project"
    shutil.copytree(ROOT / "docs" / "awx", project)
    wanted = yaml.safe_load((project / "collections" / "requirements.yml").read_text(encoding="utf-8"))
    pins = {c["name"]: str(c["version"]) for c in wanted["collections"]}
    got = installed(dest)
    assert set(pins) == set(got) and pins["mdeops.defender"] == got["mdeops.defender"]
    # the project pins the ansible.windows of the main environment; the compatibility run has an older 3.x
    assert pins["ansible.windows"].split(".")[0] == got["ansible.windows"].split(".")[0] == "3"

    sim = winsim({"hosts": {"ws1": WS, "ws2": WS}})
    guard = Invariants(sim, expected_org=ORG)
    env = {
        **sim.env,
        "ANSIBLE_COLLECTIONS_PATH": str(dest),  # the installed copy only: no checkout, no symlink farm
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "False",
    }
    reports = tmp_path / "reports"
    proc = subprocess.run(
        [
            str(BIN_DIR / "ansible-playbook"),
            "-i",
            str(sim.inventory),
            "playbooks/verify.yml",
            "-e",
            json.dumps({"mde_verify_expected_org_id": ORG, "mde_report_dir": str(reports)}),
        ],
        cwd=project,  # the project's ansible.cfg enables the report callback
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    report = json.loads((reports / "verify-report.json").read_text(encoding="utf-8"))
    assert report["run"]["status"] == "complete" and report["run"]["collection_version"] == VERSION
    assert {h["name"]: h["outcome"] for h in report["hosts"]} == {"ws1": "compliant", "ws2": "compliant"}
    assert "fleet report: " in proc.stdout, "the callback of the installed collection wrote the report"
    guard.check(proc.stdout, proc.stderr, check_mode=True, report_dir=reports)  # an audit changes nothing

    for playbook in ("rollout.yml", "offboard.yml"):
        check = subprocess.run(
            [str(BIN_DIR / "ansible-playbook"), "--syntax-check", "-i", str(sim.inventory), f"playbooks/{playbook}"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0, (playbook, check.stdout + check.stderr)
