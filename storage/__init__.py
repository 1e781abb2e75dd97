"""Storage: SQLAlchemy models, the per-visit writer, queries and Alembic migrations."""
