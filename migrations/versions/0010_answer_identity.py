"""one row per answer: a unique index on (response, item, position), after removing the copies
that two simultaneous presses of one page could store

Revision ID: 0010_answer_identity
Revises: 0009_login_throttles
Create Date: 2026-12-02 07:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0010_answer_identity'
down_revision = '0009_login_throttles'
branch_labels = None
depends_on = None


def upgrade():
    # The first copy of each answer stays (the pages were the same form sent twice).
    op.execute("DELETE FROM response_answers WHERE id NOT IN ("
               "SELECT min(id) FROM response_answers GROUP BY response_id, item, coalesce(position, -1))")
    op.create_index('uq_response_answers_single', 'response_answers', ['response_id', 'item'], unique=True,
                    sqlite_where=sa.text('position IS NULL'), postgresql_where=sa.text('position IS NULL'))
    op.create_index('uq_response_answers_multiple', 'response_answers', ['response_id', 'item', 'position'],
                    unique=True, sqlite_where=sa.text('position IS NOT NULL'),
                    postgresql_where=sa.text('position IS NOT NULL'))


def downgrade():
    op.drop_index('uq_response_answers_multiple', table_name='response_answers')
    op.drop_index('uq_response_answers_single', table_name='response_answers')
