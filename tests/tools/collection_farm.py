#!/usr/bin/env python
"""Create or refresh ./collections/ansible_collections/mdeops/defender (a symlink farm).

Ansible finds a collection only under a path ending in ansible_collections/<ns>/<name>;
the repository root is not such a path.  pytest-ansible solves this by creating
collections/ansible_collections/<ns>/<name>/ with one absolute symlink per top-level entry
of the repository (once; it never refreshes it).  This script builds the very same layout,
and refreshes it: entries added since (e.g. roles/ appearing later) get a link, links to
removed entries or to another checkout (a copied tree) are replaced.

ansible.cfg's collections_path, `make lint` and `make demo` point at ./collections.
The directory is git-ignored and excluded from the Galaxy build (build_ignore).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]


def ensure_farm(root: Path = REPO_ROOT) -> Path:
    """Return the collections dir (the one holding ansible_collections/) after refreshing it."""
    galaxy = yaml.safe_load((root / "galaxy.yml").read_text(encoding="utf-8"))
    collections_dir = root / "collections"
    name_dir = collections_dir / "ansible_collections" / galaxy["namespace"] / galaxy["name"]
    if name_dir.is_symlink():
        name_dir.unlink()
    name_dir.mkdir(parents=True, exist_ok=True)

    wanted = {entry.name: entry for entry in root.iterdir() if entry.name != "collections"}
    for link in name_dir.iterdir():
        target = wanted.get(link.name)
        if not link.is_symlink() or target is None or Path(os.readlink(link)) != target:
            if link.is_symlink() or link.is_file():
                link.unlink()
            else:  # a real directory where a link should be: never delete content, report it
                raise SystemExit(f"collection_farm: {link} is a real directory, remove it by hand")
    for name, target in wanted.items():
        link = name_dir / name
        if not link.is_symlink():
            link.symlink_to(target)
    return collections_dir


def main() -> int:
    path = ensure_farm()
    print(f"collection farm: {path}/ansible_collections (ANSIBLE_COLLECTIONS_PATH={path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
