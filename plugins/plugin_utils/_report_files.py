# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing the fleet report's files (JSON, CSV, HTML) on the controller. PRIVATE.

The report itself is built in ``module_utils/_report.py``; the HTML page needs Jinja2
(``_report_html.py``), which only the controller has.
"""

from __future__ import annotations

import os
import tempfile

from ansible_collections.mdeops.defender.plugins.module_utils._report import to_csv, to_json
from ansible_collections.mdeops.defender.plugins.plugin_utils._report_html import to_html

__all__ = ["report_paths", "write_report"]


def _atomic_write(path: str, text: str) -> None:
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def report_paths(directory: str, basename: str = "fleet-report") -> dict:
    return {ext: os.path.join(directory, basename + "." + ext) for ext in ("json", "csv", "html")}


def write_report(report: dict, directory: str, basename: str = "fleet-report") -> dict:
    """Write ``<basename>.json``, ``.csv`` and ``.html`` into ``directory``; return the paths.

    The JSON is written last: a reader that polls it sees the other two already in place.
    """
    paths = report_paths(directory, basename)
    _atomic_write(paths["html"], to_html(report))
    _atomic_write(paths["csv"], to_csv(report))
    _atomic_write(paths["json"], to_json(report))
    return paths
