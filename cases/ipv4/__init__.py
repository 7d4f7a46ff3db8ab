"""Conformance cases: ipv4."""
