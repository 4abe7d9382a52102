"""Deterministic synthetic demo data for the registry (no real personal data).

Public API: :func:`generate_demo`, :func:`registry_is_empty`, :func:`reset_registry`,
:func:`real_accounts`, :func:`demo_accounts_present`,
:class:`DemoSummary`, :class:`DemoError` and ``DEMO_USERS`` (username, role, password).
"""

from dashboard.demo.generator import (
    DEMO_USERS,
    DemoError,
    DemoSummary,
    demo_accounts_present,
    generate_demo,
    real_accounts,
    registry_is_empty,
    reset_registry,
)

__all__ = [
    "DEMO_USERS",
    "DemoError",
    "DemoSummary",
    "demo_accounts_present",
    "generate_demo",
    "real_accounts",
    "registry_is_empty",
    "reset_registry",
]
