"""Hypothesis profiles for the property tests: `ci` (300 examples, the default when CI is set)
and `dev` (500). HYPOTHESIS_PROFILE picks one explicitly.

The profiles are registered here but not loaded globally, so the other modules' `@given` tests
keep their own settings; the stateful tests take the chosen one from the fixture below."""

import os

import pytest
from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,  # a step runs services against PostgreSQL: its time varies
    "stateful_step_count": 20,
    "derandomize": False,
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
}

settings.register_profile("ci", max_examples=300, **_COMMON)
settings.register_profile("dev", max_examples=500, **_COMMON)


def profile_name() -> str:
    return os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def hypothesis_profile() -> settings:
    return settings.get_profile(profile_name())
