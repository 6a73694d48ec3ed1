"""Builders of test data used by several test files (not part of the npc_risk package)."""
