"""Onboarding/offboarding package parsing (docs/sources.md §3.1, §3.4, §3.5)."""

from __future__ import annotations

import datetime
import io
import zipfile

import pytest

from ansible_collections.mdeops.defender.plugins.module_utils import _package as pkg
from tests.winsim import packages as gen

ORG = "0a1b2c3d-1111-2222-3333-444455556666"
OTHER = "99d1c52c-a198-4a16-8826-0a81f6f4ea5a"
TODAY = datetime.date(2026, 11, 30)

# The escaping seen in portal-generated scripts: \" around the outer JSON, \\\" inside body.
PORTAL_STYLE_LINE = (
    'REG add "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Advanced Threat Protection" /v OnboardingInfo '
    '/t REG_SZ /f /d "{\\"body\\":\\"{\\\\\\"previousOrgIds\\\\\\":[\\\\\\"%s\\\\\\"],\\\\\\"orgId\\\\\\":'
    '\\\\\\"%s\\\\\\",\\\\\\"version\\\\\\":\\\\\\"1.35\\\\\\"}\\",\\"sig\\":\\"abc==\\"}"'
    " > %%TMP%%\\senseTmp.txt 2>&1\r\n"
)


def test_gp_zip_gives_org_and_prefers_unattended_script():
    info = pkg.read_package_bytes("WindowsDefenderATPOnboardingPackage.zip", gen.onboarding_zip(ORG))
    assert info["kind"] == "onboarding"
    assert info["org_id"] == ORG
    assert info["flavor"] == "group_policy" and not info["interactive"]
    assert info["script_name"] == "WindowsDefenderATPOnboardingScript.cmd"
    assert info["package_type"] == "zip"


def test_zip_with_both_scripts_picks_the_group_policy_one():
    data = gen.onboarding_zip(
        ORG, extra={"WindowsDefenderATPLocalOnboardingScript.cmd": gen.onboarding_script(ORG, local=True)}
    )
    assert pkg.read_package_bytes("p.zip", data)["script_name"] == "WindowsDefenderATPOnboardingScript.cmd"


def test_local_script_is_interactive():
    info = pkg.read_package_bytes("p.zip", gen.onboarding_zip(ORG, local=True))
    assert info["interactive"] and info["flavor"] == "local"


def test_a_set_p_that_reads_a_file_is_not_interactive():
    """The Group Policy script's error path reads its temporary file with "Set /P errorMsg=<file"."""
    info = pkg.read_package_bytes("WindowsDefenderATPOnboardingScript.cmd", gen.onboarding_script(ORG).encode())
    assert "Set /P errorMsg=<" in info["content"]
    assert not info["interactive"] and info["flavor"] == "group_policy"


def test_cmd_file_directly():
    info = pkg.read_package_bytes("WindowsDefenderATPOnboardingScript.cmd", gen.onboarding_script(OTHER).encode())
    assert info["org_id"] == OTHER and info["package_type"] == "cmd"


def test_portal_style_escaping_is_decoded_through_json_not_by_guessing():
    text = "@echo off\r\n" + PORTAL_STYLE_LINE % (OTHER, ORG)
    info = pkg.parse_script("WindowsDefenderATPOnboardingScript.cmd", text.encode())
    assert info["org_id"] == ORG
    assert info["previous_org_ids"] == [OTHER]  # only reachable through the real JSON parse


def test_offboarding_package_date_and_expiry():
    good = pkg.read_package_bytes("off.zip", gen.offboarding_zip(ORG, TODAY + datetime.timedelta(days=7)))
    assert good["kind"] == "offboarding" and good["valid_until"] == "2026-12-07" and good["org_id"] == ORG
    pkg.check_expiry(good, today=TODAY)
    old = pkg.read_package_bytes("off.zip", gen.offboarding_zip(ORG, TODAY - datetime.timedelta(days=1)))
    with pytest.raises(pkg.PackageError) as err:
        pkg.check_expiry(old, today=TODAY)
    assert err.value.reason == "package_expired" and "2026-11-29" in err.value.msg


def test_expiry_also_read_from_expiration_timestamp():
    script = gen.offboarding_script(ORG, TODAY - datetime.timedelta(days=2))
    renamed = pkg.parse_script("WindowsDefenderATPOffboardingScript.cmd", script.encode())  # no date in the name
    assert renamed["kind"] == "offboarding" and renamed["valid_until"] is None
    with pytest.raises(pkg.PackageError) as err:
        pkg.check_expiry(renamed, today=TODAY)
    assert err.value.reason == "package_expired"


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("corrupt.zip", b"PK\x03\x04garbage", "package_invalid"),
        ("noscript.zip", None, "package_invalid"),
        ("notes.txt", b"hello", "package_invalid"),
        ("WindowsDefenderATP.onboarding", b"{}", "wrong_package_type"),
        ("WindowsDefenderATPOnboardingScript.cmd", b"@echo off\r\necho nothing\r\n", "package_invalid"),
    ],
)
def test_bad_packages(name, data, reason):
    if data is None:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("readme.txt", "x")
        data = buf.getvalue()
    with pytest.raises(pkg.PackageError) as err:
        pkg.read_package_bytes(name, data)
    assert err.value.reason == reason
    assert name in err.value.msg


def test_script_without_org_id_is_refused():
    text = '@echo off\r\nREG add "HKLM\\X" /v OnboardingInfo /t REG_SZ /f /d "{\\"body\\":\\"{}\\"}"\r\n'
    with pytest.raises(pkg.PackageError) as err:
        pkg.parse_script("WindowsDefenderATPOnboardingScript.cmd", text.encode())
    assert err.value.reason == "package_invalid" and "orgId" in err.value.msg


def test_read_package_from_disk(tmp_path):
    path = tmp_path / "WindowsDefenderATPOnboardingPackage.zip"
    path.write_bytes(gen.onboarding_zip(ORG))
    assert pkg.read_package(str(path))["org_id"] == ORG
    with pytest.raises(pkg.PackageError) as err:
        pkg.read_package(str(tmp_path / "missing.zip"))
    assert err.value.reason == "package_not_found"
    with pytest.raises(pkg.PackageError) as err:
        pkg.read_package(str(tmp_path))
    assert err.value.reason == "package_not_found"


def test_checksum():
    info = pkg.read_package_bytes("p.zip", gen.onboarding_zip(ORG))
    pkg.verify_checksum(info, "sha256:" + info["package_sha256"])
    pkg.verify_checksum(info, info["sha256"])  # the script's own digest is accepted too
    with pytest.raises(pkg.PackageError) as err:
        pkg.verify_checksum(info, "sha256:" + "0" * 64)
    assert err.value.reason == "checksum_mismatch"
    with pytest.raises(pkg.PackageError) as err:
        pkg.verify_checksum(info, "md5:abc")
    assert err.value.reason == "invalid_argument"


def test_guid_helpers():
    assert pkg.is_guid(ORG) and not pkg.is_guid("nope") and not pkg.is_guid(None)
    assert pkg.normalize_guid("{0A1B2C3D-1111-2222-3333-444455556666}") == ORG


# A decoy: OnboardingInfo of the expected organisation written to a key the sensor never reads.
DECOY_LINE = PORTAL_STYLE_LINE.replace(
    "Windows Advanced Threat Protection", "Windows Advanced Threat Protection\\Decoy"
)


def test_a_decoy_for_another_key_is_not_the_packages_org():
    text = "@echo off\r\n" + DECOY_LINE % (ORG, ORG) + PORTAL_STYLE_LINE % (OTHER, OTHER)
    info = pkg.parse_script("WindowsDefenderATPOnboardingScript.cmd", text.encode())
    assert info["org_id"] == OTHER  # the value the sensor reads, not the first line


def test_two_different_values_for_the_sensors_key_are_refused():
    text = "@echo off\r\n" + PORTAL_STYLE_LINE % (ORG, ORG) + PORTAL_STYLE_LINE % (OTHER, OTHER)
    with pytest.raises(pkg.PackageError) as err:
        pkg.parse_script("WindowsDefenderATPOnboardingScript.cmd", text.encode())
    assert err.value.reason == "package_invalid" and "2 times" in err.value.msg


def test_hkey_local_machine_spelling_and_no_quotes_are_the_same_key():
    line = (PORTAL_STYLE_LINE % (ORG, ORG)).replace(
        '"HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Advanced Threat Protection"',
        '"HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows Advanced Threat Protection"',
    )
    assert (
        pkg.parse_script("WindowsDefenderATPOnboardingScript.cmd", ("@echo off\r\n" + line).encode())["org_id"] == ORG
    )


def test_no_value_for_the_sensors_key_is_refused():
    text = "@echo off\r\n" + DECOY_LINE % (ORG, ORG)
    with pytest.raises(pkg.PackageError) as err:
        pkg.parse_script("WindowsDefenderATPOnboardingScript.cmd", text.encode())
    assert err.value.reason == "package_invalid"


def _with_compression_method(data: bytes, method: int) -> bytes:
    """The zip with every member's compression method (local header and central directory) set to ``method``."""
    raw = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        at = raw.find(signature)
        while at >= 0:
            raw[at + offset : at + offset + 2] = method.to_bytes(2, "little")
            at = raw.find(signature, at + 4)
    return bytes(raw)


def test_a_zip_whose_compression_python_cannot_read_is_invalid_not_a_crash():
    # 9 = Deflate64, which Windows' own zip tool writes for large files; zipfile raises NotImplementedError
    data = _with_compression_method(gen.onboarding_zip(ORG), 9)
    with pytest.raises(pkg.PackageError) as err:
        pkg.read_package_bytes("WindowsDefenderATPOnboardingPackage.zip", data)
    assert err.value.reason == "package_invalid" and "cannot be read" in str(err.value), str(err.value)
