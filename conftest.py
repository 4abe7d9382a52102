"""What the docstring examples in dashboard/ may use (pytest runs them with --doctest-modules).

``ref`` is the reference geography shipped in data/reference (the force area, its districts, LSOAs and
postcodes), so an example can show a real answer ("ST16 2DH" is in Stafford) rather than be skipped.
Examples that need a database with rows in it stay marked ``+SKIP``: the tests show those.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _doctest_reference(request, doctest_namespace):
    """``ref`` for the examples, loaded only when this run collected some (a run of tests/ alone pays nothing)."""
    if any(isinstance(item, pytest.DoctestItem) for item in request.session.items):
        from dashboard.config import DEFAULT_MANIFEST, DEFAULT_REFERENCE_DIR
        from dashboard.geo.reference import cached_reference

        doctest_namespace["ref"] = cached_reference(DEFAULT_REFERENCE_DIR, DEFAULT_MANIFEST)
