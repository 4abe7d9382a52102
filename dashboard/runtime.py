"""Start-up: validate settings, reference data and database once, and hold what the app needs.

Every failure here is a ``ConfigError`` with one line that names what is wrong and how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from dashboard.analytics.disclosure import Disclosure
from dashboard.branding import Brand
from dashboard.config import ConfigError, Settings, load_settings
from dashboard.geo.reference import ReferenceDataError, ReferenceGeography, cached_reference
from dashboard.registry import summaries
from dashboard.registry.camera_search import CameraFinder
from dashboard.registry.database import check_connection, make_engine, migrate, session_factory, transaction


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    reference: ReferenceGeography
    engine: Engine
    sessions: sessionmaker[Session]
    finder: CameraFinder
    # The one disclosure-control layer every figure for analysts and leads passes (promise 4).
    disclosure: Disclosure

    @property
    def brand(self) -> Brand:
        """The force as the public pages, emails and texts name it: FORCE_NAME, else the reference's area name."""
        return Brand.of(self.settings, self.reference.force_name)


def load_reference_or_fail(settings: Settings) -> ReferenceGeography:
    try:
        return cached_reference(settings.reference_data_dir, settings.manifest_path)
    except ReferenceDataError as exc:
        raise ConfigError(str(exc)) from None


def open_database(settings: Settings, *, migrate_schema: bool = True) -> Engine:
    from dashboard.registry import audit

    engine = make_engine(settings.database_url)
    # Every audit row written or checked through this engine uses the audit key and checkpoint file.
    audit.anchor_engine(engine, audit.Anchor.from_settings(settings))
    check_connection(engine)
    if migrate_schema:
        try:
            migrate(engine)
        except Exception as exc:  # noqa: BLE001 - a migration failure must not become a traceback at start-up
            first = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            raise ConfigError(f"cannot bring the database schema up to date: {first}") from None
    return engine


def prepare(settings: Settings | None = None) -> Runtime:
    """Everything the app needs, checked: settings, reference geography, a migrated database."""
    settings = settings or load_settings()
    reference = load_reference_or_fail(settings)
    engine = open_database(settings)
    sessions = session_factory(engine)
    with transaction(sessions) as s:  # a register migrated from before its summaries: count them once
        summaries.ensure_built(s, reference)
    from dashboard.registry import audit

    audit.checkpoint_quietly(engine)  # at each start-up: anchors the log as it is now, outside the database
    return Runtime(settings, reference, engine, sessions, CameraFinder(sessions), Disclosure.from_settings(settings))
