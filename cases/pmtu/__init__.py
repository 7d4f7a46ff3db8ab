"""Conformance cases: pmtu."""
