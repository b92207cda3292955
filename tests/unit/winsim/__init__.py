"""Tests of mdeops.defender."""
