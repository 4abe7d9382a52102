"""Settings from the environment: defaults, validation and one-line errors."""

from __future__ import annotations

import datetime as dt
import os

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
    # One web worker process per core this process may use (capped at 8), four threads in each.
    assert s.web_workers == max(1, min(len(os.sched_getaffinity(0)), 8)) and s.web_threads == 4


def test_overrides(base):
    s = load_settings(
        {
            **base,
            "K_MIN": "10",
            "DEBUG": "yes",
            "PILOT_START": "2026-03-01",
            "TILE_URL": "https://tiles.example/{z}/{x}/{y}.png",
            "DATABASE_URL": "postgresql+psycopg://u:p@localhost/db",
            "WEB_WORKERS": "3",
            "WEB_THREADS": "1",
        }
    )
    assert s.k_min == 10 and s.debug and s.pilot_start == dt.date(2026, 3, 1)
    assert not s.is_sqlite
    assert (s.web_workers, s.web_threads) == (3, 1)


@pytest.mark.parametrize(
    "env,fragment",
    [
        ({"K_MIN": "1"}, "K_MIN"),
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"WEB_WORKERS": "0"}, "WEB_WORKERS"),
        ({"WEB_THREADS": "many"}, "WEB_THREADS"),
        ({"DATABASE_URL": "postgresql://u@h/db"}, "psycopg"),
        ({"PILOT_START": "2026-08-01"}, "PUBLIC_LAUNCH"),
        ({"SECRET_KEY": "changeme"}, "SECRET_KEY"),
        ({"REFERENCE_DATA_DIR": "/no/such/folder"}, "REFERENCE_DATA_DIR"),
        ({"REFERENCE_MANIFEST": "/no/manifest.toml"}, "REFERENCE_MANIFEST"),
    ],
)
def test_bad_values_give_one_line(base, env, fragment):
    with pytest.raises(ConfigError) as info:
        load_settings({**base, **env})
    message = str(info.value)
    assert fragment in message and "\n" not in message


def test_officer_search_settings(base):
    """Issue 15: how long a search opens its cameras, and each officer's search limit."""
    s = load_settings(base)
    assert (s.search_valid_days, s.search_rate_limit) == (30, "10 per minute; 60 per hour")
    s = load_settings({**base, "SEARCH_VALID_DAYS": "7", "SEARCH_RATE_LIMIT": "5 per minute"})
    assert (s.search_valid_days, s.search_rate_limit) == (7, "5 per minute")
    for env, fragment in (
        ({"SEARCH_VALID_DAYS": "0"}, "SEARCH_VALID_DAYS"),
        ({"SEARCH_VALID_DAYS": "a month"}, "SEARCH_VALID_DAYS"),
        ({"SEARCH_RATE_LIMIT": "lots"}, "SEARCH_RATE_LIMIT"),
    ):
        with pytest.raises(ConfigError, match=fragment):
            load_settings({**base, **env})


def _make_audit_key(queue) -> None:
    from dashboard import config

    queue.put(config.embedded_audit_key(create=True))


def test_processes_starting_at_once_share_one_embedded_audit_key(tmp_path, monkeypatch):
    """A fresh clone has no data/audit_key: test workers (and web workers) starting together each made
    it; one read it half-written ('damaged') or got another key. Now the first key wins, whole."""
    import multiprocessing

    from dashboard import config

    context = multiprocessing.get_context("fork")
    for trial in range(10):
        path = tmp_path / f"t{trial}" / "audit_key"
        monkeypatch.setattr(config, "AUDIT_KEY_FILE", path)
        queue = context.Queue()
        workers = [context.Process(target=_make_audit_key, args=(queue,)) for _ in range(6)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(30)
        keys = {queue.get(timeout=5) for _ in workers}
        assert keys == {path.read_text().strip()}
        assert [p.name for p in path.parent.iterdir()] == ["audit_key"]  # no temporary file left behind
