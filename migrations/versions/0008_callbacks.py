"""call-backs: when a phone task comes back, the retry delays per attempt outcome, and the form
key that makes recording an attempt idempotent

Revision ID: 0008_callbacks
Revises: 0007_reintegration_partners
Create Date: 2026-12-02 05:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008_callbacks'
down_revision = '0007_reintegration_partners'
branch_labels = None
depends_on = None

DEFAULT_DELAYS = "no_answer=240,busy=60,switched_off=240,absent=1440"


def upgrade():
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('callback_at', sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_follow_ups_callback_at'), ['callback_at'], unique=False)
    with op.batch_alter_table('contact_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form_key', sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_contact_attempts_form_key'), ['form_key'])
    with op.batch_alter_table('contact_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retry_delays', sa.String(length=200), nullable=False,
                                      server_default=DEFAULT_DELAYS))
    with op.batch_alter_table('contact_settings', schema=None) as batch_op:
        batch_op.alter_column('retry_delays', server_default=None, existing_type=sa.String(length=200))


def downgrade():
    with op.batch_alter_table('contact_attempts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_contact_attempts_form_key'), type_='unique')
        batch_op.drop_column('form_key')
    with op.batch_alter_table('contact_settings', schema=None) as batch_op:
        batch_op.drop_column('retry_delays')
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follow_ups_callback_at'))
        batch_op.drop_column('callback_at')
