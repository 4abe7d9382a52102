"""Alembic environment: runs migrations on the engine the app hands over (no alembic.ini).

On SQLite, altering a column rebuilds its table (batch mode: copy, drop, rename). Foreign keys are
turned off around the migrations so that dropping a parent table never cascades into its children
(``camera`` -> ``site`` is ON DELETE CASCADE), then checked and turned back on; a reference
the migrations left dangling stops the start-up (the transaction is rolled back)."""

from alembic import context

from dashboard.registry.models import Base

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys = OFF")  # no effect inside a transaction: before it
        connection.commit()
    try:
        with connection.begin():
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=sqlite,
                compare_type=True,
            )
            # The check reads every referencing row (seconds at a million cameras): only when a
            # migration is about to run. References already dangling (a database edited by hand)
            # are not the migration's doing.
            pending = sqlite and context.get_context().get_current_revision() != context.get_head_revision()
            before = set(connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()) if pending else set()
            with context.begin_transaction():
                context.run_migrations()
            if pending:
                broken = sorted(set(connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()) - before)
                if broken:
                    raise RuntimeError(f"the migration left {len(broken)} dangling foreign key(s), e.g. {broken[0]}")
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys = ON")
            connection.commit()
