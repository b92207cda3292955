"""Each role's meta/argument_specs.yml is its documented interface; defaults/main.yml must agree.

Names, defaults and types are compared; every public variable carries the role's prefix; required
options have no default (the role must be told); lists say what their elements are.
"""

from __future__ import annotations

import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = sorted(d for d in os.listdir(os.path.join(ROOT, "roles")) if os.path.isdir(os.path.join(ROOT, "roles", d)))
TYPES = {"str": str, "int": int, "bool": bool, "list": list, "dict": dict, "path": str, "raw": object}


def load(role: str, *parts: str):
    path = os.path.join(ROOT, "roles", role, *parts)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


@pytest.mark.parametrize("role", ROLES)
def test_spec_and_defaults_agree(role):
    spec = load(role, "meta", "argument_specs.yml")
    assert spec, "roles/%s has no meta/argument_specs.yml" % role
    options = spec["argument_specs"]["main"]["options"]
    defaults = load(role, "defaults", "main.yml") or {}
    for name in list(options) + list(defaults):
        assert name.startswith(role + "_"), "%s: variable %s lacks the role prefix" % (role, name)
    required = {n for n, o in options.items() if o.get("required")}
    assert set(defaults) == set(options) - required, "defaults/main.yml and argument_specs.yml list different variables"
    for name, opt in options.items():
        assert opt.get("description"), "%s: %s has no description" % (role, name)
        assert opt.get("type") in TYPES, "%s: %s has no (known) type" % (role, name)
        if opt["type"] == "list":
            assert opt.get("elements"), "%s: list %s has no elements" % (role, name)
        if name in required:
            assert "default" not in opt, "%s: required %s has a default" % (role, name)
            continue
        assert opt.get("default") == defaults[name], "%s: default of %s differs" % (role, name)
        assert isinstance(defaults[name], TYPES[opt["type"]]), "%s: default of %s is not a %s" % (
            role,
            name,
            opt["type"],
        )
        if opt.get("choices"):
            assert defaults[name] in opt["choices"], "%s: default of %s is not one of its choices" % (role, name)


@pytest.mark.parametrize("role", ROLES)
def test_role_has_readme_and_meta(role):
    assert os.path.exists(os.path.join(ROOT, "roles", role, "README.md")), "roles/%s/README.md is missing" % role
    meta = load(role, "meta", "main.yml")
    assert meta and meta["galaxy_info"]["platforms"][0]["name"] == "Windows"


def test_role_readmes_match_their_argument_specs():
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tests", "tools", "role_readme.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
