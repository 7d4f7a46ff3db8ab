"""Conformance cases: tcp6."""
