"""The package_info filter: the role's pre-flight check of the onboarding package."""

from __future__ import annotations

import pytest

from ansible_collections.mdeops.defender.plugins.filter.mde import package_info
from tests.winsim import packages as gen

ORG = "0a1b2c3d-1111-2222-3333-444455556666"
OTHER = "99d1c52c-a198-4a16-8826-0a81f6f4ea5a"


@pytest.fixture
def package(tmp_path):
    path = tmp_path / "WindowsDefenderATPOnboardingPackage.zip"
    path.write_bytes(gen.onboarding_zip(ORG))
    return str(path)


@pytest.mark.parametrize("expected", [ORG, ORG.upper(), "{%s}" % ORG.upper()])
def test_any_spelling_of_the_right_org_passes(package, expected):
    info = package_info(package, expected_org_id=expected)
    assert info["ok"] is True and info["org_id"] == ORG


@pytest.mark.parametrize("expected", [OTHER, "{%s}" % OTHER.upper()])
def test_any_spelling_of_another_org_is_refused(package, expected):
    info = package_info(package, expected_org_id=expected)
    assert info["ok"] is False and info["reason"] == "wrong_org"
    assert OTHER in info["msg"] and ORG in info["msg"]


def test_an_expected_org_that_is_no_guid_is_refused_not_skipped(package):
    info = package_info(package, expected_org_id="contoso")
    assert info["ok"] is False and info["reason"] == "invalid_argument" and "contoso" in info["msg"]
