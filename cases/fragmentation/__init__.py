"""Conformance cases: fragmentation."""
