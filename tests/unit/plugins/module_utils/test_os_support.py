"""OS support table: Microsoft's list and the guide's list (docs/sources.md §1.4)."""

from __future__ import annotations

import pytest

from ansible_collections.mdeops.defender.plugins.module_utils._os_support import classify


def os_(build, product_type=1, caption="", edition="Enterprise"):
    return {"build": build, "product_type": product_type, "caption": caption, "edition": edition}


@pytest.mark.parametrize(
    ("info", "unified", "microsoft", "guide"),
    [
        (os_(7601, 1, "Microsoft Windows 7 Enterprise"), False, False, False),
        (os_(9600, 1, "Microsoft Windows 8.1 Enterprise"), False, False, False),
        (os_(10240), False, True, False),  # Windows 10 1507: Microsoft yes, guide needs 1703
        (os_(14393), False, True, False),  # 1607
        (os_(15063), False, True, True),  # 1703: the guide's minimum
        (os_(19045), False, True, True),
        (os_(22631), False, True, True),  # Windows 11
        (os_(26100), False, True, True),
        (os_(19045, 1, "Microsoft Windows 10 Home", "Core"), False, False, False),
        (os_(7601, 3, "Microsoft Windows Server 2008 R2"), False, False, False),
        (os_(9600, 3), False, False, False),  # 2012 R2 without the unified solution
        (os_(9600, 3), True, True, False),  # with it
        (os_(14393, 3), False, False, False),
        (os_(14393, 3), True, True, False),
        (os_(16299, 3), False, False, False),  # Server 1709: before 1803
        (os_(17134, 3), False, True, False),  # Server 1803
        (os_(17763, 3), False, True, False),  # 2019
        (os_(20348, 3), False, True, False),  # 2022
        (os_(26100, 3), False, True, False),  # 2025
        (os_(20348, 2), False, True, False),  # domain controller
        (os_(17763, 3, "Microsoft Hyper-V Server 2019", "ServerHyperCore"), False, False, False),
    ],
)
def test_support_tables(info, unified, microsoft, guide):
    assert classify(info, "microsoft", unified_agent=unified)["supported"] is microsoft
    assert classify(info, "guide", unified_agent=unified)["supported"] is guide


def test_downlevel_server_without_unified_agent_has_its_own_reason():
    result = classify(os_(14393, 3), "microsoft")
    assert result["reason"] == "unified_agent_required"
    assert result["needs_unified_agent"]


def test_server_needs_force_and_client_is_automatic():
    assert classify(os_(20348, 3))["needs_force_passive"] and not classify(os_(20348, 3))["passive_automatic"]
    assert classify(os_(22631))["passive_automatic"] and not classify(os_(22631))["needs_force_passive"]


def test_unknown_build_is_unsupported_and_bad_policy_raises():
    assert classify({"build": None})["supported"] is False
    with pytest.raises(ValueError):
        classify(os_(22631), "whatever")
