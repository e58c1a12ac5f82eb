"""The migrations build exactly the schema the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from models import db

# Created by the migrations on PostgreSQL only (pg_trgm, the gram function); not portable to SQLite.
POSTGRES_ONLY_INDEXES = {"ix_devices_search_text_trgm", "ix_devices_search_grams"}


def test_migrations_match_the_models(app_context):
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    differences = [
        diff for diff in differences if not (diff[0] == "remove_index" and diff[1].name in POSTGRES_ONLY_INDEXES)
    ]
    assert differences == []
