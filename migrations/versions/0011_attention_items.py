"""needs attention: a red flag of a live response becomes an item of work that staff close with
what they did; the flags' own "resolved" columns go (one source of truth: the item)

Existing flags of live responses (and of imported ones whose window is still open) get their
items, closed when the flag was already marked resolved.

Revision ID: 0011_attention_items
Revises: 0010_answer_identity
Create Date: 2026-12-02 07:00:00
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = '0011_attention_items'
down_revision = '0010_answer_identity'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('attention_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('flag', sa.String(length=40), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('cleared_at', sa.DateTime(), nullable=True),
    sa.Column('action', sa.String(length=20), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('(closed_at IS NULL) = (action IS NULL)', name=op.f('ck_attention_items_closed_with_action')),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_attention_items_closed_by_id_users')),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_attention_items_response_id_responses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attention_items')),
    sa.UniqueConstraint('response_id', 'flag', name='uq_attention_items_response_id_flag')
    )
    with op.batch_alter_table('attention_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attention_items_response_id'), ['response_id'], unique=False)
        batch_op.create_index('ix_attention_items_open', ['response_id'], unique=False,
                              sqlite_where=sa.text('closed_at IS NULL'), postgresql_where=sa.text('closed_at IS NULL'))

    # Flags resolved before actions were recorded close with an action saying so.
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    op.get_bind().execute(sa.text(
        "INSERT INTO attention_items (response_id, flag, opened_at, action, closed_at, closed_by_id) "
        "SELECT f.response_id, f.flag, COALESCE(r.completed_at, :now), "
        "       CASE WHEN f.resolved_at IS NULL THEN NULL ELSE 'resolved_earlier' END, f.resolved_at, "
        "       CASE WHEN f.resolved_at IS NULL THEN NULL ELSE f.resolved_by_id END "
        "FROM response_flags f JOIN responses r ON r.id = f.response_id "
        "JOIN follow_ups u ON u.id = r.follow_up_id "
        "WHERE r.imported = :false OR u.window_closes >= :today"),
        {"now": now, "today": now.date(), "false": False})

    with op.batch_alter_table('response_flags', schema=None) as batch_op:
        batch_op.drop_constraint('fk_response_flags_resolved_by_id_users', type_='foreignkey')
        batch_op.drop_column('resolved_by_id')
        batch_op.drop_column('resolved_at')


def downgrade():
    with op.batch_alter_table('response_flags', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resolved_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('resolved_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_response_flags_resolved_by_id_users', 'users', ['resolved_by_id'], ['id'])
    op.get_bind().execute(sa.text(
        "UPDATE response_flags SET "
        "resolved_at = (SELECT i.closed_at FROM attention_items i "
        "               WHERE i.response_id = response_flags.response_id AND i.flag = response_flags.flag), "
        "resolved_by_id = (SELECT i.closed_by_id FROM attention_items i "
        "                  WHERE i.response_id = response_flags.response_id AND i.flag = response_flags.flag)"))
    with op.batch_alter_table('attention_items', schema=None) as batch_op:
        batch_op.drop_index('ix_attention_items_open', sqlite_where=sa.text('closed_at IS NULL'),
                            postgresql_where=sa.text('closed_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_attention_items_response_id'))
    op.drop_table('attention_items')
