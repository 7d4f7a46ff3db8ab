"""A protocol conformance test suite for IP stacks."""

__version__ = "0.1.0"
