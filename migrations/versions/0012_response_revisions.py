"""response revisions: the earlier versions of a closed response's answers, kept when staff
correct them, with the reason, who and when

Revision ID: 0012_response_revisions
Revises: 0011_attention_items
Create Date: 2026-12-02 06:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012_response_revisions'
down_revision = '0011_attention_items'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('response_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('corrected_by_id', sa.Integer(), nullable=True),
    sa.Column('corrected_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['corrected_by_id'], ['users.id'],
                            name=op.f('fk_response_revisions_corrected_by_id_users')),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_response_revisions_response_id_responses'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response_revisions')),
    sa.UniqueConstraint('response_id', 'number', name='uq_response_revisions_response_id_number')
    )
    with op.batch_alter_table('response_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_response_revisions_response_id'), ['response_id'], unique=False)


def downgrade():
    with op.batch_alter_table('response_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_response_revisions_response_id'))
    op.drop_table('response_revisions')
