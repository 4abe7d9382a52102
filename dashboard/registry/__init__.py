"""The registry: models, database, queries. No Dash imports here."""
