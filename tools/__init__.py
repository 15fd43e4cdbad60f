"""Maintenance scripts (not installed): generators of the engine's checked-in data."""
