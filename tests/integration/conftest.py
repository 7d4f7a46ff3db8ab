"""Integration tests build namespaces, so every one of them needs root."""

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "integration" in item.nodeid.split("/"):
            item.add_marker(pytest.mark.root)
