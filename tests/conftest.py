"""Shared test configuration.

Hypothesis runs with a "ci" profile when CI is set (fewer examples, no
deadline: the CI machine has 2 cores shared with other work) and "dev"
otherwise.  Subsystem fixtures live in their own modules (softhsm, smtp)
and are listed in ``pytest_plugins``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
