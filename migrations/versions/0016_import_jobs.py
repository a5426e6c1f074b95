"""import jobs: a returnee import uploaded on the web runs in the background; its progress, its
report and, until it ends, the file encrypted

Revision ID: 0016_import_jobs
Revises: 0015_erasure
Create Date: 2026-12-02 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0016_import_jobs'
down_revision = '0015_erasure'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'import_jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('form_key', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('dry_run', sa.Boolean(), nullable=False),
        sa.Column('skip_invalid', sa.Boolean(), nullable=False),
        sa.Column('locale', sa.String(length=10), nullable=False),
        sa.Column('filename', sa.Text(), nullable=True),
        sa.Column('payload', sa.LargeBinary(), nullable=True),
        sa.Column('rows_total', sa.Integer(), nullable=False),
        sa.Column('rows_done', sa.Integer(), nullable=False),
        sa.Column('report', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_import_jobs_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_import_jobs')),
        sa.UniqueConstraint('form_key', name=op.f('uq_import_jobs_form_key')),
    )
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_jobs_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_jobs_status'), ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_jobs_status'))
        batch_op.drop_index(batch_op.f('ix_import_jobs_user_id'))
    op.drop_table('import_jobs')
