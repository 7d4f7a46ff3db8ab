"""Conformance cases: tuntap."""
