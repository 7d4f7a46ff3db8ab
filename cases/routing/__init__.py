"""Conformance cases: routing."""
