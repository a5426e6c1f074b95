"""erasure and consent history: when a case's identity was erased; STOP and START become
consent events (those recorded before are copied from the audit log)

Revision ID: 0015_erasure
Revises: 0014_api_tokens
Create Date: 2026-12-02 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0015_erasure'
down_revision = '0014_api_tokens'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('returnees', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(), nullable=True))

    # Every STOP and START so far is in the audit log (action, time, the case's code, how it came):
    # the case page's consent history shows them from now on as consent events.
    audit = sa.table('audit_entries', sa.column('action', sa.String), sa.column('at', sa.DateTime),
                     sa.column('object_type', sa.String), sa.column('object_id', sa.String),
                     sa.column('details', sa.JSON))
    returnees = sa.table('returnees', sa.column('id', sa.Integer), sa.column('code', sa.String))
    events = sa.table('consent_events', sa.column('returnee_id', sa.Integer), sa.column('at', sa.DateTime),
                      sa.column('kind', sa.String), sa.column('channels', sa.String), sa.column('method', sa.String))
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(returnees.c.id, audit.c.action, audit.c.at, audit.c.details)
        .select_from(audit.join(returnees, returnees.c.code == audit.c.object_id))
        .where(audit.c.object_type == 'returnees', audit.c.action.in_(('returnee.sms.stop', 'returnee.sms.start')))
        .order_by(audit.c.at)).all()
    copied = []
    for returnee_id, action, at, details in rows:
        via = str((details or {}).get('via') or 'sms')
        method = 'carrier' if via.startswith('Twilio') else via[:20]
        copied.append({'returnee_id': returnee_id, 'at': at, 'kind': 'stop' if action.endswith('stop') else 'start',
                       'channels': '', 'method': method if action.endswith('stop') else 'sms'})
    if copied:
        op.bulk_insert(events, copied)


def downgrade():
    events = sa.table('consent_events', sa.column('kind', sa.String))
    op.execute(events.delete().where(events.c.kind.in_(('stop', 'start'))))
    with op.batch_alter_table('returnees', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
