"""Conformance cases: udp6."""
