"""reversed-host columns, indexed: "a host and its subdomains" is a range of an index

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 15:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

REVERSED_HOST = sa.String(length=254).with_variant(sa.String(length=254, collation="C"), "postgresql")
COLUMNS = {  # table: {reversed column: host column}
    'host_pairs': {'parent_reversed': 'parent', 'child_reversed': 'child'},
    'resolutions': {'hostname_reversed': 'hostname'},
    'trackers': {'hostname_reversed': 'hostname'},
    'cookies': {'hostname_reversed': 'hostname', 'cookie_domain_reversed': 'cookie_domain'},
    'components': {'hostname_reversed': 'hostname'},
}
BATCH = 5000


def _reversed(host: str) -> str:
    """storage.models.reversed_host as it was at this revision (a migration never changes with the models)."""
    return ".".join(reversed(host.split("."))) + "."


def upgrade() -> None:
    connection = op.get_bind()
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.add_column(sa.Column(column, REVERSED_HOST, nullable=True))
        rows = sa.table(table, sa.column('id'), *(sa.column(c) for c in (*columns, *columns.values())))
        last_id = 0
        while True:  # existing rows, in batches of ids
            batch = connection.execute(
                sa.select(rows.c.id, *(rows.c[h] for h in columns.values()))
                .where(rows.c.id > last_id).order_by(rows.c.id).limit(BATCH)).all()
            if not batch:
                break
            connection.execute(
                sa.update(rows).where(rows.c.id == sa.bindparam('row_id')),
                [{'row_id': row[0], **{column: _reversed(row[1 + i]) for i, column in enumerate(columns)}}
                 for row in batch])
            last_id = batch[-1][0]
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(column, existing_type=REVERSED_HOST, nullable=False)
                batch_op.create_index(batch_op.f(f'ix_{table}_{column}'), [column], unique=False)


def downgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_index(batch_op.f(f'ix_{table}_{column}'))
                batch_op.drop_column(column)
