"""Hostile-package testkit: deterministic keys, a package crafter, and generated vectors."""
