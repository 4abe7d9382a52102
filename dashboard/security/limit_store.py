"""A ``limits`` storage backend on the registry's own database, so that every web worker
process counts against the same limit (in-memory counts would let a client make N times as
many requests with N workers). Clients' addresses are stored only as an HMAC with the app's
secret key.

Used through Flask-Limiter as ``storage_uri="ccr-sql://"`` with the options
``sessions`` (a SQLAlchemy sessionmaker) and ``secret`` (bytes).
"""

from __future__ import annotations

import hashlib
import hmac
import random
import time

import sqlalchemy as sa
from limits.storage import Storage
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dashboard.registry.database import transaction
from dashboard.registry.models import RateLimitCounter

EXPIRED_SWEEP_CHANCE = 0.02  # now and then, drop windows that ended more than an hour ago


def _hit_statement(dialect: str) -> sa.TextClause:
    """One hit on a window, made once per store (bound values: digest, amount, now, expires), as SQL
    text: SQLAlchemy cannot cache an upsert's compiled form ("no key"), so it compiled it again
    on every search (a third of a millisecond); text is cached."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(RateLimitCounter).values(
        window_digest=sa.bindparam("digest"), count=sa.bindparam("amount"), expires_at=sa.bindparam("expires")
    )
    live = RateLimitCounter.expires_at > sa.bindparam("now")
    upsert = statement.on_conflict_do_update(
        index_elements=["window_digest"],
        set_={
            "count": sa.case((live, RateLimitCounter.count + statement.excluded.count), else_=statement.excluded.count),
            "expires_at": sa.case((live, RateLimitCounter.expires_at), else_=statement.excluded.expires_at),
        },
    ).returning(RateLimitCounter.count)
    named = (postgresql if dialect == "postgresql" else sqlite).dialect(paramstyle="named")
    return sa.text(str(upsert.compile(dialect=named)))


class SqlCounterStorage(Storage):
    STORAGE_SCHEME = ["ccr-sql"]  # noqa: RUF012 - the limits library reads this list to register the scheme

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        self.sessions = options["sessions"]
        self.secret = options["secret"]
        self._dialect = self.sessions.kw["bind"].dialect.name
        self._hit = _hit_statement(self._dialect)

    @property
    def base_exceptions(self):
        return sa.exc.SQLAlchemyError

    def _key(self, key: str) -> str:
        return hmac.new(self.secret, key.encode("utf-8"), hashlib.sha256).hexdigest()

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now, hashed = time.time(), self._key(key)
        with self._unit() as s:
            # One statement, atomic on the window's row: count the hit in a live window, or start
            # the window afresh when it is missing or over. Two servers starting the same window
            # at once both count (with an UPDATE first and then an upsert that reset the count, one
            # of the two hits was lost). It returns the count it leaves (RETURNING), so no read
            # follows it, and on SQLite it takes the write lock with the transaction's first statement.
            conn = s.connection() if isinstance(s, Session) else s  # Core: the ORM would take the values as rows
            count = conn.execute(
                self._hit, {"digest": hashed, "amount": amount, "now": now, "expires": now + expiry}
            ).scalar_one()
            if random.random() < EXPIRED_SWEEP_CHANCE:
                s.execute(sa.delete(RateLimitCounter).where(RateLimitCounter.expires_at < now - 3600))
            return count

    def _unit(self):
        """Where ``incr`` runs. SQLite: one transaction that takes the write lock with its first
        statement. PostgreSQL: each statement commits by itself (autocommit): the upsert is atomic
        on its own row (a second server's waits for the first's row lock, then adds to it); no
        BEGIN and COMMIT round trips per request."""
        if self._dialect == "postgresql":
            return self.sessions.kw["bind"].connect().execution_options(isolation_level="AUTOCOMMIT")
        return transaction(self.sessions)

    def get(self, key: str) -> int:
        with self.sessions() as s:
            count = s.scalar(
                sa.select(RateLimitCounter.count).where(
                    RateLimitCounter.window_digest == self._key(key), RateLimitCounter.expires_at > time.time()
                )
            )
        return int(count or 0)

    def get_expiry(self, key: str) -> float:
        with self.sessions() as s:
            expiry = s.scalar(
                sa.select(RateLimitCounter.expires_at).where(RateLimitCounter.window_digest == self._key(key))
            )
        return float(expiry) if expiry is not None else time.time()

    def check(self) -> bool:
        try:
            with self.sessions() as s:
                s.execute(sa.select(1))
            return True
        except sa.exc.SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        with transaction(self.sessions) as s:
            return s.execute(sa.delete(RateLimitCounter)).rowcount

    def clear(self, key: str) -> None:
        with transaction(self.sessions) as s:
            s.execute(sa.delete(RateLimitCounter).where(RateLimitCounter.window_digest == self._key(key)))
