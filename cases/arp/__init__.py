"""Conformance cases: arp."""
