"""Conformance cases: udp."""
