"""Settings from the environment: defaults, validation and one-line errors."""
from __future__ import annotations

import datetime as dt

import pytest

from dashboard.config import ConfigError, load_settings


@pytest.fixture
def base(reference_dir) -> dict:
    return {"REFERENCE_DATA_DIR": str(reference_dir), "SECRET_KEY": "z" * 40}


def test_defaults(base):
    s = load_settings(base)
    assert s.database_url.startswith("sqlite:///") and s.database_url.endswith("data/registry.db")
    assert (s.k_min, s.port, s.host, s.debug, s.tile_url) == (8, 8050, "127.0.0.1", False, None)
    assert s.pilot_start < s.public_launch


def test_overrides(base):
    s = load_settings({**base, "K_MIN": "10", "DEBUG": "yes", "PILOT_START": "2026-03-01",
                       "TILE_URL": "https://tiles.example/{z}/{x}/{y}.png",
                       "DATABASE_URL": "postgresql+psycopg://u:p@localhost/db"})
    assert s.k_min == 10 and s.debug and s.pilot_start == dt.date(2026, 3, 1)
    assert not s.is_sqlite


@pytest.mark.parametrize("env,fragment", [
    ({"K_MIN": "1"}, "K_MIN"),
    ({"DEBUG": "maybe"}, "DEBUG"),
    ({"DATABASE_URL": "postgresql://u@h/db"}, "psycopg"),
    ({"PILOT_START": "2026-08-01"}, "PUBLIC_LAUNCH"),
    ({"SECRET_KEY": "changeme"}, "SECRET_KEY"),
    ({"REFERENCE_DATA_DIR": "/no/such/folder"}, "REFERENCE_DATA_DIR"),
    ({"REFERENCE_MANIFEST": "/no/manifest.toml"}, "REFERENCE_MANIFEST"),
])
def test_bad_values_give_one_line(base, env, fragment):
    with pytest.raises(ConfigError) as info:
        load_settings({**base, **env})
    message = str(info.value)
    assert fragment in message and "\n" not in message
