"""The suite's topology fixtures (fixtures/), for every test collected below the checkout."""

from fixtures import PLUGINS as pytest_plugins  # noqa: F401
