"""The EXAMPLES of the collection's documentation stubs, for the tests that run them as written."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

MODULES = Path(__file__).resolve().parents[2] / "plugins" / "modules"


def module_examples(module: str) -> list[dict]:
    """The EXAMPLES of ``plugins/modules/<module>.py``, parsed (a list of tasks)."""
    stub = MODULES / ("%s.py" % module)
    for node in ast.parse(stub.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "EXAMPLES":
            return yaml.safe_load(node.value.value)
    raise AssertionError("%s has no EXAMPLES" % stub)


def write_playbook(base: Path, plays: list[dict], name: str = "examples.yml") -> Path:
    """Write ``plays`` as a playbook in ``base`` (where relative package names resolve in files/)."""
    path = base / name
    path.write_text(yaml.safe_dump(plays, sort_keys=False), encoding="utf-8")
    return path
