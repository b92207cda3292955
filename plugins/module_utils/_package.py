# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading Defender for Endpoint onboarding and offboarding packages. PRIVATE.

The portal gives a zip (``WindowsDefenderATPOnboardingPackage.zip`` /
``WindowsDefenderATPOffboardingPackage.zip``) holding a ``.cmd`` script (docs/sources.md §3.1):

* ``WindowsDefenderATPOnboardingScript.cmd`` — Group Policy / Configuration Manager, unattended
* ``WindowsDefenderATPLocalOnboardingScript.cmd`` — local script, asks for ``Y`` and waits
  for a key: it cannot run unattended
* ``WindowsDefenderATPOffboardingScript_valid_until_YYYY-MM-DD.cmd`` — offboarding; the date
  is in the file name and the package is refused by Windows after it (§3.5)

The script writes a JSON document to the registry with ``reg add ... /d "<json>"``; the
JSON's ``body`` is itself JSON text that holds ``orgId`` (§3.4, UNCONFIRMED layout read
from public copies of generated scripts). This module finds the script, the org id and the
expiry without running anything, so the action plugin can refuse a wrong package before it
touches a host.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
import re
import zipfile
from typing import Any

from ._registry import ATP_POLICY_KEY, OFFBOARDING_DATA, ONBOARDING_INFO

ONBOARDING = "onboarding"
OFFBOARDING = "offboarding"

_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
#: A GUID as people and Windows write it: any case, with or without braces (``{...}``).
_GUID_RE = re.compile(r"^(?:\{(%s)\}|(%s))$" % (_GUID, _GUID))
_ONBOARD_NAME_RE = re.compile(r"(?i)^WindowsDefenderATP(Local)?OnboardingScript\.cmd$")
_OFFBOARD_NAME_RE = re.compile(
    r"(?i)^WindowsDefenderATP(Local)?OffboardingScript_valid_until_(\d{4}-\d{2}-\d{2})\.cmd$"
)
_MDM_NAME_RE = re.compile(r"(?i)\.(onboarding|offboarding)$")
# A "reg add <key> /v OnboardingInfo|<offboarding value> /t REG_SZ /f /d "<data>"" line: the key it
# writes to (quoted or not) and the value name; the data is the quoted argument after it.
_REG_ADD_RE = re.compile(
    r'(?im)\breg(?:\.exe)?\s+add\s+(?:"(?P<qkey>[^"\r\n]+)"|(?P<key>[^\s"]+))\s+/v\s+(?P<name>%s|%s)\s+/t\s+REG_SZ\s+/f\s+/d\s+"'
    % (ONBOARDING_INFO, OFFBOARDING_DATA)
)
_HIVES = {"hkey_local_machine": "hklm"}
_ORG_FALLBACK_RE = re.compile(r"(?i)orgId\W{1,12}([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")
# A prompt read from the console. "Set /P errorMsg=<file" (the error path of the Group Policy
# scripts) reads a file, not the console, and is not interactive.
_INTERACTIVE_RE = re.compile(r"(?im)^\s*set\s+/p\s+\w+\s*=(?![^\r\n]*<)|^\s*:USER_CONSENT\b")

_FILETIME_EPOCH = datetime.datetime(1601, 1, 1, tzinfo=datetime.timezone.utc)

MAX_PACKAGE_BYTES = 20 * 1024 * 1024


class PackageError(Exception):
    """A package that cannot be used; ``reason`` is a stable code."""

    def __init__(self, reason: str, msg: str) -> None:
        super().__init__(msg)
        self.reason = reason
        self.msg = msg


def canonical_guid(value: object) -> str | None:
    """The one normalisation of an org id: a GUID in any case, with or without braces, becomes lower case
    without braces (``{0A1B...}`` -> ``0a1b...``); anything else becomes None."""
    if not isinstance(value, str):
        return None
    match = _GUID_RE.match(value.strip())
    return (match.group(1) or match.group(2)).lower() if match else None


def is_guid(value: object) -> bool:
    return canonical_guid(value) is not None


def normalize_guid(value: str) -> str:
    """:func:`canonical_guid` for a value known to be a GUID."""
    return canonical_guid(value) or value.strip().strip("{}").lower()


def _backslashes_end(text: str, i: int) -> int:
    """Where the run of backslashes that starts at ``text[i]`` ends (the index after its last one)."""
    while i < len(text) and text[i] == "\\":
        i += 1
    return i


def _argv_unescape(text: str) -> str:
    """Undo Windows command-line quoting (CommandLineToArgvW rules) inside a quoted arg."""
    out = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            j = _backslashes_end(text, i)
            count = j - i
            if j < n and text[j] == '"':
                out.append("\\" * (count // 2))
                if count % 2:
                    out.append('"')
                    i = j + 1
                else:
                    i = j  # an unescaped quote: end of argument (caller stops before it)
                continue
            out.append("\\" * count)
            i = j
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _quoted_arg_at(text: str, start: int) -> str | None:
    """The raw text of a double-quoted argument starting right after its opening quote."""
    i = start
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            j = _backslashes_end(text, i)
            if j < n and text[j] == '"' and (j - i) % 2 == 1:
                i = j + 1
                continue
            i = j
            continue
        if ch == '"':
            return text[start:i]
        if ch == "\n":
            return None
        i += 1
    return None


def _is_policy_key(key: str | None) -> bool:
    """``key`` (as a ``reg add`` line gives it) is the policy key the sensor reads OnboardingInfo from."""
    parts = str(key or "").strip().strip("\\").split("\\", 1)
    if len(parts) != 2:
        return False
    hive = _HIVES.get(parts[0].lower(), parts[0].lower())
    return "%s\\%s" % (hive, parts[1].lower()) == ATP_POLICY_KEY.lower()


def _filetime_to_date(value: Any) -> datetime.datetime | None:
    try:
        ticks = int(value)
    except (TypeError, ValueError):
        return None
    if ticks <= 0:
        return None
    return _FILETIME_EPOCH + datetime.timedelta(microseconds=ticks // 10)


def parse_script(name: str, data: bytes) -> dict:
    """Parse one onboarding/offboarding ``.cmd`` script.

    Returns ``{"script_name", "kind", "flavor", "interactive", "org_id", "previous_org_ids",
    "valid_until", "expires_at", "sha256", "size", "content"}``. Raises :class:`PackageError`.
    """
    base = os.path.basename(name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    kind = None
    valid_until = None
    m_on = _ONBOARD_NAME_RE.match(base)
    m_off = _OFFBOARD_NAME_RE.match(base)
    if m_on:
        kind = ONBOARDING
        local = bool(m_on.group(1))
    elif m_off:
        kind = OFFBOARDING
        local = bool(m_off.group(1))
        try:
            valid_until = datetime.date.fromisoformat(m_off.group(2))
        except ValueError as exc:
            raise PackageError("package_invalid", "the date in '%s' is not a valid date" % base) from exc
    else:
        local = "local" in base.lower()
    info = None
    raw = None
    # Only the value written to the key the sensor reads counts; a package writing it more than once
    # (a decoy with another organisation's data, say) is refused rather than guessed at.
    candidates = [m for m in _REG_ADD_RE.finditer(text) if _is_policy_key(m.group("qkey") or m.group("key"))]
    datas = {_quoted_arg_at(text, m.end()) for m in candidates}
    if len(datas) > 1:
        raise PackageError(
            "package_invalid",
            "'%s' writes %s under %s %d times with different data: a portal package writes it once. Download "
            "the package from the Defender portal again."
            % (base, candidates[0].group("name"), ATP_POLICY_KEY, len(datas)),
        )
    if candidates:
        match = candidates[0]
        if kind is None:
            kind = ONBOARDING if match.group("name").lower() == "onboardinginfo" else OFFBOARDING
        raw = _quoted_arg_at(text, match.end())
        if raw is not None:
            try:
                outer = json.loads(_argv_unescape(raw))
                body = outer.get("body")
                info = json.loads(body) if isinstance(body, str) else body
            except (ValueError, AttributeError):
                info = None
    if kind is None:
        raise PackageError(
            "package_invalid",
            "'%s' is not a Defender for Endpoint onboarding or offboarding script "
            "(no OnboardingInfo/offboarding registry data in it)" % base,
        )
    org_id = None
    previous: list = []
    expires_at = None
    if isinstance(info, dict):
        org_id = info.get("orgId")
        previous = list(info.get("previousOrgIds") or [])
        expires_at = _filetime_to_date(info.get("expirationTimestamp"))
    if not org_id and raw is not None:
        # the one value's data, read loosely (never the rest of the script)
        fallback = _ORG_FALLBACK_RE.search(_argv_unescape(raw))
        org_id = fallback.group(1) if fallback else None
    if not org_id or not is_guid(org_id):
        raise PackageError("package_invalid", "no organisation id (orgId) found in '%s'" % base)
    interactive = local or bool(_INTERACTIVE_RE.search(text))
    return {
        "script_name": base,
        "kind": kind,
        "flavor": "local" if interactive else "group_policy",
        "interactive": interactive,
        "org_id": normalize_guid(org_id),
        "previous_org_ids": [normalize_guid(p) for p in previous if is_guid(p)],
        "valid_until": valid_until.isoformat() if valid_until else None,
        "expires_at": expires_at.isoformat() if expires_at else None,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "content": text,
    }


def _pick_script(names: list[str]) -> str | None:
    """Prefer the unattended Group Policy script over the local one."""
    scripts = [n for n in names if not n.endswith("/") and n.lower().endswith(".cmd")]
    for pattern in (_ONBOARD_NAME_RE, _OFFBOARD_NAME_RE):
        unattended = [n for n in scripts if (m := pattern.match(os.path.basename(n))) and not m.group(1)]
        if unattended:
            return sorted(unattended)[0]
    for pattern in (_ONBOARD_NAME_RE, _OFFBOARD_NAME_RE):
        local = [n for n in scripts if pattern.match(os.path.basename(n))]
        if local:
            return sorted(local)[0]
    return None


def read_package_bytes(name: str, data: bytes) -> dict:
    """Read a package given as a zip or a ``.cmd`` (its file name and bytes).

    The result is :func:`parse_script`'s plus ``package_name``, ``package_sha256`` and
    ``package_type`` (``zip`` or ``cmd``).
    """
    base = os.path.basename(name)
    package_sha256 = hashlib.sha256(data).hexdigest()
    if _MDM_NAME_RE.search(base):
        raise PackageError(
            "wrong_package_type",
            "'%s' is an MDM/Intune package; this module runs the Group Policy script package" % base,
        )
    if data[:4] == b"PK\x03\x04" or base.lower().endswith(".zip"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = archive.namelist()
                member = _pick_script(names)
                if member is None:
                    raise PackageError(
                        "package_invalid",
                        "the zip '%s' holds no onboarding or offboarding script (.cmd); found: %s"
                        % (base, ", ".join(names) or "nothing"),
                    )
                info = archive.getinfo(member)
                if info.file_size > MAX_PACKAGE_BYTES:
                    raise PackageError("package_invalid", "'%s' in '%s' is too large" % (member, base))
                script = archive.read(member)
        except zipfile.BadZipFile as exc:
            raise PackageError("package_invalid", "'%s' is not a valid zip file (%s)" % (base, exc)) from exc
        except (OSError, RuntimeError) as exc:
            # zipfile raises RuntimeError for an encrypted member, and a subclass of it for a compression
            # method it cannot read (e.g. Deflate64): a package that cannot be used.
            raise PackageError("package_invalid", "'%s' cannot be read: %s" % (base, exc)) from exc
        result = parse_script(member, script)
        result["package_type"] = "zip"
    elif base.lower().endswith(".cmd"):
        result = parse_script(base, data)
        result["package_type"] = "cmd"
    else:
        raise PackageError(
            "package_invalid",
            "'%s' is neither the portal's zip nor a .cmd script" % base,
        )
    result["package_name"] = base
    result["package_sha256"] = package_sha256
    return result


def read_package(path: str) -> dict:
    """Read a package from a path on the controller."""
    if not os.path.exists(path):
        raise PackageError("package_not_found", "package '%s' does not exist on the controller" % path)
    if not os.path.isfile(path):
        raise PackageError("package_not_found", "package '%s' is not a file" % path)
    size = os.path.getsize(path)
    if size > MAX_PACKAGE_BYTES:
        raise PackageError("package_invalid", "package '%s' is %d bytes, larger than any portal package" % (path, size))
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise PackageError("package_not_found", "package '%s' cannot be read: %s" % (path, exc)) from exc
    return read_package_bytes(path, data)


def verify_checksum(package: dict, checksum: str) -> None:
    """``checksum`` is ``[algorithm:]hexdigest``; it may match the zip or the script."""
    algo, _sep, digest = checksum.rpartition(":")
    algo = (algo or "sha256").lower()
    if algo != "sha256":
        raise PackageError("invalid_argument", "checksum algorithm '%s' is not supported; use sha256:<hex>" % algo)
    digest = digest.strip().lower()
    if digest not in (package.get("package_sha256"), package.get("sha256")):
        raise PackageError(
            "checksum_mismatch",
            "package '%s' has sha256 %s, not the expected %s"
            % (package.get("package_name"), package.get("package_sha256"), digest),
        )


def check_expiry(package: dict, today: datetime.date | None = None) -> None:
    """Refuse an expired offboarding package (the date is in the file name, §3.5)."""
    if package.get("kind") != OFFBOARDING:
        return
    today = today or datetime.datetime.now(datetime.timezone.utc).date()
    valid_until = package.get("valid_until")
    if valid_until and datetime.date.fromisoformat(valid_until) < today:
        raise PackageError(
            "package_expired",
            "offboarding package '%s' expired on %s" % (package.get("script_name"), valid_until),
        )
    expires_at = package.get("expires_at")
    if expires_at and datetime.datetime.fromisoformat(expires_at).date() < today:
        raise PackageError(
            "package_expired",
            "offboarding package '%s' expired on %s (expirationTimestamp)"
            % (package.get("script_name"), expires_at[:10]),
        )
