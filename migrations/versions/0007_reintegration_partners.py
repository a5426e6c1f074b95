"""the programme's two reintegration partners (Caritas International, IOM)

Revision ID: 0007_reintegration_partners
Revises: 0006_scoring_versions
Create Date: 2026-11-25 09:00:00.000000

A fresh installation must work without the demo: an import names its partner by code, and local
partners hang under a reintegration partner, so both must exist from the first `db upgrade`.
Inserted only when their code is absent: a database that already has them (from the demo, or
made by hand) keeps its rows, ids and edits.
"""
import datetime

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_reintegration_partners'
down_revision = '0006_scoring_versions'
branch_labels = None
depends_on = None

PARTNERS = [
    {"code": "caritas", "name": "Caritas International", "kind": "reintegration", "sender_name": "Caritas"},
    {"code": "iom", "name": "IOM", "kind": "reintegration", "sender_name": "IOM"},
]

# A table of its own, not the model: migrations must keep working as the code moves on.
organisations = sa.table(
    "organisations", sa.column("id", sa.Integer), sa.column("code", sa.String), sa.column("name", sa.String),
    sa.column("kind", sa.String), sa.column("sender_name", sa.String), sa.column("active", sa.Boolean),
    sa.column("created_at", sa.DateTime))


def upgrade():
    bind = op.get_bind()
    # UTC without a zone, as UTCDateTime stores it on both databases.
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    for partner in PARTNERS:
        exists = bind.scalar(sa.select(organisations.c.id)
                             .where(sa.func.lower(organisations.c.code) == partner["code"]))
        if exists is None:
            # No explicit id: on PostgreSQL the sequence hands it out, so later inserts never collide.
            bind.execute(organisations.insert().values(**partner, active=True, created_at=now))


def downgrade():
    # Deletes each partner only when no row anywhere refers to it (cases, staff, local partners,
    # sample strata...): a downgrade must never leave a dangling reference nor lose case data.
    # A partner still in use is left in place (it was valid before this migration too).
    # SQLite does not enforce foreign keys here, so the references are looked up explicitly.
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    references = [(table, column)
                  for table in inspector.get_table_names()
                  for fk in inspector.get_foreign_keys(table)
                  if fk["referred_table"] == "organisations"
                  for column in fk["constrained_columns"]]
    for partner in PARTNERS:
        org_id = bind.scalar(sa.select(organisations.c.id).where(organisations.c.code == partner["code"]))
        if org_id is None:
            continue
        used = any(bind.scalar(sa.select(sa.literal(1)).select_from(sa.table(table))
                               .where(sa.column(column) == org_id).limit(1))
                   for table, column in references)
        if not used:
            bind.execute(organisations.delete().where(organisations.c.id == org_id))
