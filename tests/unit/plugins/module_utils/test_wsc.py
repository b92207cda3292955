"""Security Center productState decoding (community layout, docs/sources.md §4)."""

from __future__ import annotations

import pytest

from ansible_collections.mdeops.defender.plugins.module_utils._wsc import decode_product_state, is_microsoft_product


@pytest.mark.parametrize(
    ("value", "state", "owner", "up_to_date"),
    [
        (266240, "on", "third_party", True),  # 0x041000 third-party on & current
        (262144, "off", "third_party", True),  # 0x040000 off
        (266256, "on", "third_party", False),  # 0x041010 on, out of date
        (270336, "snoozed", "third_party", True),  # 0x042000
        (274432, "expired", "third_party", True),  # 0x043000
        (397568, "on", "microsoft", True),  # 0x061100 Defender on & current
        (393472, "off", "microsoft", True),  # 0x060100 Defender off
        ("266240", "on", "third_party", True),
        ("0x041000", "on", "third_party", True),
    ],
)
def test_decode_known_values(value, state, owner, up_to_date):
    decoded = decode_product_state(value)
    assert decoded["state"] == state
    assert decoded["owner"] == owner
    assert decoded["up_to_date"] is up_to_date
    assert decoded["real_time"] is (state == "on")


@pytest.mark.parametrize("value", [None, "abc", -1, 0x1000000, object()])
def test_undecodable_values_never_count_as_protection(value):
    decoded = decode_product_state(value)
    assert decoded["state"] == "unknown"
    assert decoded["real_time"] is False


def test_microsoft_products_are_recognised_by_name_or_owner():
    assert is_microsoft_product("Windows Defender")
    assert is_microsoft_product("Microsoft Defender Antivirus")
    assert is_microsoft_product("Anything", "microsoft")
    assert not is_microsoft_product("CrowdStrike Falcon Sensor", "third_party")
