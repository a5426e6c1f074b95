"""offline submissions: the instance ID of the ODK Central or KoboToolbox submission that
recorded a follow-up's outcome, so that importing it again is recognised and skipped

Revision ID: 0013_offline_submissions
Revises: 0012_response_revisions
Create Date: 2026-12-02 07:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0013_offline_submissions'
down_revision = '0012_response_revisions'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_instance_id', sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_follow_ups_source_instance_id'), ['source_instance_id'])


def downgrade():
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_follow_ups_source_instance_id'), type_='unique')
        batch_op.drop_column('source_instance_id')
