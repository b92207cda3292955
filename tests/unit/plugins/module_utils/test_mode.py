"""AMRunningMode normalisation: every documented spelling, case-insensitive (docs/sources.md §2.1, §7.6)."""

from __future__ import annotations

import pytest

from ansible_collections.mdeops.defender.plugins.module_utils._mode import (
    MODES,
    is_passive_goal,
    normalize_api_av_mode,
    normalize_running_mode,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Normal", "active"),
        ("normal", "active"),
        ("NORMAL", "active"),
        ("Passive Mode", "passive"),
        ("Passive", "passive"),
        ("passive mode", "passive"),
        ("PassiveMode", "passive"),
        ("  Passive   Mode ", "passive"),
        ("SxS Passive Mode", "sxs_passive"),
        ("sxs passive mode", "sxs_passive"),
        ("EDR Block Mode", "edr_block"),
        ("edr block mode", "edr_block"),
        ("EDRBlockMode", "edr_block"),
        ("EDR_Block_Mode", "edr_block"),
        ("Not running", "disabled"),
        ("Disabled", "disabled"),
        (None, "not_installed"),
        ("", "unknown"),
        ("Quantum Mode", "unknown"),
        (42, "unknown"),
    ],
)
def test_normalize_running_mode(value, expected):
    assert normalize_running_mode(value) == expected
    assert expected in MODES


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", "active"),
        ("1", "passive"),
        ("2", "disabled"),
        ("3", "unknown"),
        ("4", "edr_block"),
        ("5", "passive"),
        ("", "unknown"),
        (None, "unknown"),
        ("EDRBlocked", "edr_block"),
        ("Passive", "passive"),
        ("7", "unknown"),
    ],
)
def test_normalize_api_av_mode(value, expected):
    assert normalize_api_av_mode(value) == expected


def test_passive_goal_modes():
    assert is_passive_goal("passive") and is_passive_goal("edr_block")
    assert not any(is_passive_goal(m) for m in ("sxs_passive", "active", "disabled", "not_installed", "unknown"))
