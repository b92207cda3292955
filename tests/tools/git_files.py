"""The files git would commit below a directory: what the repository's checks look at."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git_files(root: Path) -> list[str] | None:
    """Paths relative to ``root`` that git tracks or would track (untracked, not ignored), as
    ``git ls-files`` lists them; None where git does not answer (no git, not a checkout)."""
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True,
            check=True,
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        return None
    return [f for f in out.split("\0") if f]
