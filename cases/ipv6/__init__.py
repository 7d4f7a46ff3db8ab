"""Conformance cases: ipv6."""
