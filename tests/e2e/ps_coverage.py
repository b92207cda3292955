"""What the simulated hosts' PowerShell interpreter saw during an end-to-end session.

Every simulator process writes ``ps-<pid>.json`` into the directory named by
``$WINSIM_PS_REPORT`` when it stops (``tests/winsim/ps/report.py``). ``Session`` merges them:
the constructs the interpreter refused (any one fails the session), and the line coverage of
the collection's ``.ps1``/``.psm1`` files (statement starts; a table per file and the total) with
the functions that never ran.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.winsim.ps import parser
from tests.winsim.ps.coverage import merge

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST_PREFIX = "ansible_collections.mdeops.defender."
SOURCES = ("plugins/modules/*.ps1", "plugins/module_utils/*.psm1")


def repo_path(manifest_name: str) -> str | None:
    """``ansible_collections.mdeops.defender.plugins.module_utils._MdeDefender.psm1`` →
    ``plugins/module_utils/_MdeDefender.psm1`` (None for a script that is not the collection's)."""
    if not manifest_name.startswith(MANIFEST_PREFIX):
        return None
    stem, ext = manifest_name[len(MANIFEST_PREFIX) :].rsplit(".", 1)
    return stem.replace(".", "/") + "." + ext


@dataclass
class FileCoverage:
    path: str
    executable: set[int]
    hit: set[int]
    functions: set[str]
    called: set[str]

    @property
    def percent(self) -> float:
        return 100.0 * len(self.hit) / len(self.executable) if self.executable else 100.0

    @property
    def never_called(self) -> list[str]:
        return sorted(self.functions - self.called)


@dataclass
class Session:
    reports: int = 0
    unsupported: list[dict[str, str]] = field(default_factory=list)
    files: list[FileCoverage] = field(default_factory=list)

    @classmethod
    def collect(cls, directory: Path) -> Session:
        records: list[dict[str, Any]] = []
        session = cls()
        for path in sorted(directory.glob("ps-*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            records.append(data.get("coverage", {}))
            session.unsupported.extend(data.get("unsupported", []))
            session.reports += 1
        merged = {repo_path(name): data for name, data in merge(records).items() if repo_path(name)}
        for pattern in SOURCES:
            for file in sorted(REPO_ROOT.glob(pattern)):
                rel = file.relative_to(REPO_ROOT).as_posix()
                script = parser.parse(file.read_text(encoding="utf-8-sig"), rel)
                seen = merged.get(rel, {})
                executable = set(script.statement_lines)
                session.files.append(
                    FileCoverage(
                        rel,
                        executable,
                        set(seen.get("hit", ())) & executable,
                        set(script.functions),
                        set(seen.get("called", ())),
                    )
                )
        return session

    @property
    def total_percent(self) -> float:
        executable = sum(len(f.executable) for f in self.files)
        hit = sum(len(f.hit) for f in self.files)
        return 100.0 * hit / executable if executable else 100.0

    def never_called(self) -> list[str]:
        return ["%s: %s" % (f.path, name) for f in self.files for name in f.never_called]

    def table(self) -> str:
        width = max((len(f.path) for f in self.files), default=10)
        lines = ["%s  %5s  %5s  %6s" % ("PowerShell file".ljust(width), "lines", "ran", "cover")]
        for f in self.files:
            lines.append("%s  %5d  %5d  %5.1f%%" % (f.path.ljust(width), len(f.executable), len(f.hit), f.percent))
        executable = sum(len(f.executable) for f in self.files)
        hit = sum(len(f.hit) for f in self.files)
        lines.append("%s  %5d  %5d  %5.1f%%" % ("TOTAL".ljust(width), executable, hit, self.total_percent))
        return "\n".join(lines)

    def missed_lines(self) -> str:
        """The lines that never ran, per file (for whoever wants to raise the coverage)."""
        out = []
        for f in self.files:
            missed = sorted(f.executable - f.hit)
            if missed:
                out.append("%s: %s" % (f.path, ", ".join(str(n) for n in missed)))
        return "\n".join(out)
