"""Conformance cases: icmp."""
