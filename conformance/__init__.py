"""A protocol conformance test suite for IP stacks.

PYTEST_DONT_REWRITE: a library the CLI imports before pytest starts (its plugin modules that
rely on assertion rewriting say so in their own docstrings).
"""

__version__ = "0.1.0"
