"""Disclosure control (placeholder until the rule lands)."""
