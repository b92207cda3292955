"""Starting the simulated fleet and pointing Ansible at it: what `make demo`, `make bench` and
the end-to-end tests share.

Importable as ``tests.tools.local_fleet`` (repository root on ``sys.path``) and, from the scripts
of this directory, as the sibling module ``local_fleet``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def winsim_up_command(fleet: Path | str, inventory: Path, state_dir: Path, *extra: str) -> list[str]:
    """``python -m tests.winsim up`` for ``fleet`` with this interpreter; run it from the repository root."""
    return [
        sys.executable,
        "-m",
        "tests.winsim",
        "up",
        "--fleet",
        str(fleet),
        "--inventory",
        str(inventory),
        "--state-dir",
        str(state_dir),
        *extra,
    ]


def ansible_settings(collections_dir: Path) -> dict[str, str]:
    """The environment every controller run against the fleet gets: the repository's ansible.cfg,
    the collection from ``collections_dir``, this virtualenv's interpreter and CLI first on PATH,
    no host key checking, no deprecation warnings."""
    return {
        "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(collections_dir),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
