"""The conformance cases, one package per protocol area."""
