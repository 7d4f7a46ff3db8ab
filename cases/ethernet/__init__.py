"""Conformance cases: ethernet."""
