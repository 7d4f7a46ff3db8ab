"""Conformance cases: pmtu6."""
