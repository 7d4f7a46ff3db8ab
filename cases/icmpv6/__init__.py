"""Conformance cases: icmpv6."""
