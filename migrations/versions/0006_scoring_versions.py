"""scoring versions: every response's scores per scoring version, one version active

Revision ID: 0006_scoring_versions
Revises: 0005_outcomes
Create Date: 2026-12-02 05:10:00

Data: version 1 (active) holds the scores every response had; the columns on `responses` go.
"""
import sqlalchemy as sa
from alembic import op

revision = '0006_scoring_versions'
down_revision = '0005_outcomes'
branch_labels = None
depends_on = None

DIMENSIONS = ("economic", "social", "psychosocial", "composite")


def upgrade():
    op.create_table('scoring_versions',
    sa.Column('number', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('rules', sa.String(length=40), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_scoring_versions'))
    )
    with op.batch_alter_table('scoring_versions', schema=None) as batch_op:
        batch_op.create_index('uq_scoring_versions_active', ['active'], unique=True,
                              sqlite_where=sa.text('active'), postgresql_where=sa.text('active'))
    op.create_table('response_scores',
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('economic', sa.Float(), nullable=True),
    sa.Column('social', sa.Float(), nullable=True),
    sa.Column('psychosocial', sa.Float(), nullable=True),
    sa.Column('composite', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_response_scores_response_id_responses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version'], ['scoring_versions.number'], name=op.f('fk_response_scores_version_scoring_versions')),
    sa.PrimaryKeyConstraint('response_id', 'version', name=op.f('pk_response_scores'))
    )
    with op.batch_alter_table('response_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_response_scores_version'), ['version'], unique=False)

    versions = sa.table('scoring_versions', sa.column('number', sa.Integer), sa.column('created_at', sa.DateTime),
                        sa.column('note', sa.String), sa.column('rules', sa.String), sa.column('active', sa.Boolean))
    op.execute(versions.insert().values(number=1, created_at=sa.func.now(), note="scores as responses completed",
                                        rules="1", active=True))
    op.execute("INSERT INTO response_scores (response_id, version, economic, social, psychosocial, composite) "
               "SELECT id, 1, score_economic, score_social, score_psychosocial, score_composite FROM responses "
               "WHERE completed_at IS NOT NULL")
    with op.batch_alter_table('responses', schema=None) as batch_op:
        for dimension in DIMENSIONS:
            batch_op.drop_column(f'score_{dimension}')


def downgrade():
    with op.batch_alter_table('responses', schema=None) as batch_op:
        for dimension in DIMENSIONS:
            batch_op.add_column(sa.Column(f'score_{dimension}', sa.Float(), nullable=True))
    for dimension in DIMENSIONS:
        op.execute(f"UPDATE responses SET score_{dimension} = (SELECT s.{dimension} FROM response_scores s "
                   "JOIN scoring_versions v ON v.number = s.version AND v.active "
                   "WHERE s.response_id = responses.id)")
    with op.batch_alter_table('response_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_response_scores_version'))
    op.drop_table('response_scores')
    with op.batch_alter_table('scoring_versions', schema=None) as batch_op:
        batch_op.drop_index('uq_scoring_versions_active', sqlite_where=sa.text('active'),
                            postgresql_where=sa.text('active'))
    op.drop_table('scoring_versions')
