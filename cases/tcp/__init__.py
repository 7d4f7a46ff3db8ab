"""Conformance cases: tcp."""
