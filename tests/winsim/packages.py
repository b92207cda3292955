"""Generate Defender for Endpoint onboarding/offboarding packages for tests and the demo.

The scripts have the structure of the portal's (mde-facts §3.1, §3.2, §3.4): a ``reg add``
of ``OnboardingInfo`` (or the offboarding value) whose data is JSON with a JSON ``body``
holding ``orgId``, the WDATPOnboarding/WDATPOffboarding events, and ``EXIT /B %errorCode%``.
Signatures and certificates are placeholders: nothing here is Microsoft's.

Usage: ``python -m tests.winsim.packages --org ORG --out DIR [--kind onboarding|offboarding]``
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import uuid
import zipfile

OFFBOARDING_VALUE = "696C1FA1-4030-4FA4-8713-FAF9B2EA7C0A"
_EPOCH = datetime.datetime(1601, 1, 1, tzinfo=datetime.UTC)


def _filetime(when: datetime.datetime) -> int:
    return int((when - _EPOCH).total_seconds() * 10_000_000)


def _cmd_quote(json_text: str) -> str:
    """Quote a JSON string for ``reg add ... /d "<here>"`` (CommandLineToArgvW rules)."""
    out = []
    backslashes = 0
    for ch in json_text:
        if ch == "\\":
            backslashes += 1
            continue
        if ch == '"':
            out.append("\\" * (backslashes * 2 + 1) + '"')
        else:
            out.append("\\" * backslashes + ch)
        backslashes = 0
    out.append("\\" * (backslashes * 2))
    return "".join(out)


def _info_json(body: dict) -> str:
    return json.dumps(
        {
            "body": json.dumps(body, separators=(",", ":")),
            "sig": "U0lNVUxBVEVELVNJRw==",
            "sha256sig": "U0lNVUxBVEVELVNIQTI1Ng==",
            "cert": "U0lNVUxBVEVELUNFUlQ=",
            "chain": ["U0lNVUxBVEVELUNIQUlO"],
        },
        separators=(",", ":"),
    )


def onboarding_script(org_id: str, local: bool = False) -> str:
    body = {
        "previousOrgIds": [],
        "orgId": org_id,
        "geoLocationUrl": "https://winatp-gw-weu.microsoft.com/",
        "datacenter": "WestEurope",
        "vortexGeoLocation": "EU",
        "version": "1.7",
    }
    consent = ""
    pause = ""
    if local:
        consent = (
            ":USER_CONSENT\r\n"
            'set /p shouldContinue= "Press (Y) to confirm and continue or (N) to cancel and exit: "\r\n'
            'IF /I "%shouldContinue%"=="N" GOTO EXIT\r\n'
            'IF /I "%shouldContinue%"=="Y" GOTO SCRIPT_START\r\n'
            "GOTO USER_CONSENT\r\n"
            ":SCRIPT_START\r\n"
        )
        pause = "pause\r\n"
    lines = [
        "@echo off",
        "REM Simulated Defender for Endpoint onboarding script (test fixture).",
        consent.rstrip("\r\n"),
        "set errorCode=0",
        "net session >NUL 2>&1",
        "if %ERRORLEVEL% NEQ 0 (",
        "  set errorCode=65",
        "  GOTO ERROR",
        ")",
        'REG add "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Advanced Threat Protection" /v OnboardingInfo /t REG_SZ /f /d "'
        + _cmd_quote(_info_json(body))
        + '" > %TMP%\\senseTmp.txt 2>&1',
        "if %ERRORLEVEL% NEQ 0 (",
        "  set errorCode=10",
        "  GOTO ERROR",
        ")",
        "net start sense > %TMP%\\senseTmp.txt 2>&1",
        ":SENSE_ONBOARDED_WAIT",
        'REG query "HKLM\\SOFTWARE\\Microsoft\\Windows Advanced Threat Protection\\Status" /v OnboardingState | find /i "0x1" >NUL 2>&1',
        "if %ERRORLEVEL% NEQ 0 (",
        "  set errorCode=40",
        "  GOTO ERROR",
        ")",
        'eventcreate /l Application /so WDATPOnboarding /t Information /id 20 /d "Successfully onboarded machine to Microsoft Defender for Endpoint" >NUL 2>&1',
        "GOTO EXIT",
        ":ERROR",
        'eventcreate /l Application /so WDATPOnboarding /t Error /id %errorCode% /d "Onboarding failed" >NUL 2>&1',
        ":EXIT",
        pause.rstrip("\r\n"),
        "EXIT /B %errorCode%",
    ]
    return "\r\n".join(line for line in lines if line != "") + "\r\n"


def offboarding_script(org_id: str, valid_until: datetime.date) -> str:
    expires = datetime.datetime.combine(valid_until, datetime.time(23, 59), tzinfo=datetime.UTC)
    body = {"orgIds": [org_id], "orgId": org_id, "expirationTimestamp": _filetime(expires), "version": "1.65"}
    lines = [
        "@echo off",
        "REM Simulated Defender for Endpoint offboarding script (test fixture).",
        "set errorCode=0",
        'reg query "HKLM\\SOFTWARE\\Microsoft\\Windows Advanced Threat Protection\\Status" /v OrgId | find /i "%s" >NUL 2>&1'
        % org_id,
        "if %ERRORLEVEL% NEQ 0 (",
        "  set errorCode=70",
        "  GOTO ERROR",
        ")",
        'reg delete "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Advanced Threat Protection" /v OnboardingInfo /f >NUL 2>&1',
        'reg add "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Advanced Threat Protection" /v %s /t REG_SZ /f /d "'
        % OFFBOARDING_VALUE
        + _cmd_quote(_info_json(body))
        + '" >NUL 2>&1',
        (
            "eventcreate /l Application /so WDATPOffboarding /t Information /id 20 "
            '/d "Successfully offboarded machine from Microsoft Defender for Endpoint" >NUL 2>&1'
        ),
        "GOTO EXIT",
        ":ERROR",
        'eventcreate /l Application /so WDATPOffboarding /t Error /id %errorCode% /d "Offboarding failed" >NUL 2>&1',
        ":EXIT",
        "EXIT /B %errorCode%",
    ]
    return "\r\n".join(lines) + "\r\n"


def onboarding_zip(org_id: str, local: bool = False, extra: dict | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        name = "WindowsDefenderATPLocalOnboardingScript.cmd" if local else "WindowsDefenderATPOnboardingScript.cmd"
        zf.writestr(name, onboarding_script(org_id, local=local))
        if not local:
            zf.writestr("OptionalParamsPolicy/AtpConfiguration.admx", "<policyDefinitions/>\r\n")
        for member, content in (extra or {}).items():
            zf.writestr(member, content)
    return buf.getvalue()


def offboarding_name(valid_until: datetime.date) -> str:
    return "WindowsDefenderATPOffboardingScript_valid_until_%s.cmd" % valid_until.isoformat()


def offboarding_zip(org_id: str, valid_until: datetime.date) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(offboarding_name(valid_until), offboarding_script(org_id, valid_until))
    return buf.getvalue()


def write_set(out_dir: str, org_id: str, other_org: str | None = None) -> dict:
    """Write the packages the demo and the end-to-end tests use; returns their paths."""
    os.makedirs(out_dir, exist_ok=True)
    today = datetime.date.today()
    other_org = other_org or str(uuid.uuid5(uuid.NAMESPACE_URL, "other-org"))
    files = {
        "onboarding_zip": ("WindowsDefenderATPOnboardingPackage.zip", onboarding_zip(org_id)),
        "onboarding_cmd": ("WindowsDefenderATPOnboardingScript.cmd", onboarding_script(org_id).encode()),
        "onboarding_local_zip": ("WindowsDefenderATPLocalOnboardingPackage.zip", onboarding_zip(org_id, local=True)),
        "onboarding_other_org_zip": ("OtherOrg-WindowsDefenderATPOnboardingPackage.zip", onboarding_zip(other_org)),
        "offboarding_zip": (
            "WindowsDefenderATPOffboardingPackage.zip",
            offboarding_zip(org_id, today + datetime.timedelta(days=7)),
        ),
        "offboarding_expired_zip": (
            "Expired-WindowsDefenderATPOffboardingPackage.zip",
            offboarding_zip(org_id, today - datetime.timedelta(days=3)),
        ),
        "corrupt_zip": ("Corrupt-WindowsDefenderATPOnboardingPackage.zip", b"PK\x03\x04this is not a zip"),
        "empty_zip": ("NoScript-WindowsDefenderATPOnboardingPackage.zip", _zip_without_script()),
        "installer": ("md4ws.msi", fake_installer()),
    }
    paths = {}
    for key, (name, data) in files.items():
        path = os.path.join(out_dir, name)
        with open(path, "wb") as fh:
            fh.write(data)
        paths[key] = path
    paths["org_id"] = org_id
    paths["other_org_id"] = other_org
    return paths


def fake_installer() -> bytes:
    """A stand-in for md4ws.msi: the OLE compound-file signature, then filler (not an installer)."""
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + b"simulated md4ws.msi for tests\n"


def _zip_without_script() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "no script here\r\n")
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--org", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    print(json.dumps(write_set(args.out, args.org), indent=2))


if __name__ == "__main__":
    main()
