"""Conformance cases: addresses."""
