"""outcomes: one AAPOR disposition per follow-up, responses belong to follow-ups, stored frames,
frozen strata, census strata, opt-out across channels, unusable numbers

Revision ID: 0005_outcomes
Revises: 0004_sms_channel
Create Date: 2026-12-02 04:30:00

Data: follow-up dispositions become AAPOR codes (the old "cancelled" was written when the returnee
withdrew, replied STOP or asked not to be contacted: 2.11); every response is attached to the
follow-up of its case and wave, one being created (source "imported" for imported responses,
"manual" for an interview started without a plan) when none existed, carrying the response's
disposition; draws made before frames were stored keep their selected cases as the frame
(`frame_stored` false: `sample-report --verify` says they cannot be redrawn); follow-ups of waves
that are not sampled get census strata (cohort x country x partner, probability 1).
"""
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa
from alembic import op

revision = '0005_outcomes'
down_revision = '0004_sms_channel'
branch_labels = None
depends_on = None

LEGACY = {"complete": "1.1", "partial": "1.2", "refusal": "2.11", "cancelled": "2.11", "non-contact": "2.20",
          "other": "2.36", "unknown-eligibility": "3.90", "not-eligible": "4.10"}
BACK = {"1.1": "complete", "1.2": "partial", "2.11": "refusal", "2.112": "cancelled", "2.12": "partial",
        "2.20": "non-contact", "2.21": "non-contact", "3.90": "unknown-eligibility", "4.10": "not-eligible"}


def upgrade():
    with op.batch_alter_table('returnees', schema=None) as batch_op:
        batch_op.alter_column('sms_opted_out_at', new_column_name='opted_out_at', existing_type=sa.DateTime())
        batch_op.add_column(sa.Column('phone_unusable_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('waves', schema=None) as batch_op:
        batch_op.add_column(sa.Column('planned_through', sa.Date(), nullable=True))

    with op.batch_alter_table('sample_draws', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=12), nullable=False, server_default='sample'))
        batch_op.add_column(sa.Column('sequence', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('frame_stored', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.alter_column('seed', existing_type=sa.BigInteger(), nullable=True)
        batch_op.drop_constraint('uq_sample_draws_wave_cohort', type_='unique')
        batch_op.create_unique_constraint('uq_sample_draws_wave_cohort_seq', ['wave', 'cohort', 'sequence'])
    with op.batch_alter_table('sample_draws', schema=None) as batch_op:
        batch_op.alter_column('kind', server_default=None, existing_type=sa.String(length=12))
        batch_op.alter_column('sequence', server_default=None, existing_type=sa.Integer())
        batch_op.alter_column('frame_stored', server_default=None, existing_type=sa.Boolean())

    with op.batch_alter_table('sample_strata', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_sample_strata_draw_country_partner', ['draw_id', 'country', 'partner_id'])

    op.create_table('sample_frame',
    sa.Column('wave', sa.String(length=20), nullable=False),
    sa.Column('returnee_id', sa.Integer(), nullable=False),
    sa.Column('draw_id', sa.Integer(), nullable=False),
    sa.Column('stratum_id', sa.Integer(), nullable=False),
    sa.Column('selected', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['draw_id'], ['sample_draws.id'], name=op.f('fk_sample_frame_draw_id_sample_draws'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['returnee_id'], ['returnees.id'], name=op.f('fk_sample_frame_returnee_id_returnees'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stratum_id'], ['sample_strata.id'], name=op.f('fk_sample_frame_stratum_id_sample_strata'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['wave'], ['waves.code'], name=op.f('fk_sample_frame_wave_waves')),
    sa.PrimaryKeyConstraint('wave', 'returnee_id', name=op.f('pk_sample_frame'))
    )
    with op.batch_alter_table('sample_frame', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sample_frame_draw_id'), ['draw_id'], unique=False)

    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=10), nullable=False, server_default='planned'))
        batch_op.add_column(sa.Column('stratum_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('contacted_at', sa.DateTime(), nullable=True))
        batch_op.alter_column('inclusion_probability', existing_type=sa.Float(), nullable=True)
        batch_op.create_foreign_key(batch_op.f('fk_follow_ups_stratum_id_sample_strata'), 'sample_strata',
                                    ['stratum_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_follow_ups_stratum_id'), ['stratum_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_ups_sample_draw_id'), ['sample_draw_id'], unique=False)
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.alter_column('source', server_default=None, existing_type=sa.String(length=10))

    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('follow_up_id', sa.Integer(), nullable=True))

    _migrate_data(op.get_bind())

    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.alter_column('disposition', existing_type=sa.String(length=24), type_=sa.String(length=8))
        batch_op.create_index(batch_op.f('ix_follow_ups_disposition'), ['disposition'], unique=False)

    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.alter_column('follow_up_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_responses_follow_up_id'), ['follow_up_id'])
        batch_op.create_foreign_key(batch_op.f('fk_responses_follow_up_id_follow_ups'), 'follow_ups',
                                    ['follow_up_id'], ['id'], ondelete='CASCADE')
        batch_op.drop_index('ix_responses_disposition')
        batch_op.drop_column('disposition')


# -- data ---------------------------------------------------------------------------------------

def _tables():
    meta = sa.MetaData()
    t = {}
    t["waves"] = sa.Table("waves", meta, sa.Column("code", sa.String), sa.Column("due_days", sa.Integer),
                          sa.Column("opens_days_before", sa.Integer), sa.Column("closes_days_after", sa.Integer),
                          sa.Column("sampled", sa.Boolean))
    t["returnees"] = sa.Table("returnees", meta, sa.Column("id", sa.Integer), sa.Column("return_date", sa.Date),
                              sa.Column("destination_country", sa.String), sa.Column("partner_id", sa.Integer),
                              sa.Column("preferred_channel", sa.String), sa.Column("opted_out_at", sa.DateTime),
                              sa.Column("consent_withdrawn_at", sa.DateTime), sa.Column("do_not_contact", sa.Boolean))
    t["draws"] = sa.Table("sample_draws", meta, sa.Column("id", sa.Integer), sa.Column("wave", sa.String),
                          sa.Column("cohort", sa.String), sa.Column("kind", sa.String),
                          sa.Column("sequence", sa.Integer), sa.Column("seed", sa.BigInteger),
                          sa.Column("fraction", sa.Float), sa.Column("min_per_stratum", sa.Integer),
                          sa.Column("drawn_at", sa.DateTime), sa.Column("frame_size", sa.Integer),
                          sa.Column("sample_size", sa.Integer), sa.Column("frame_stored", sa.Boolean))
    t["strata"] = sa.Table("sample_strata", meta, sa.Column("id", sa.Integer), sa.Column("draw_id", sa.Integer),
                           sa.Column("country", sa.String), sa.Column("partner_id", sa.Integer),
                           sa.Column("frame_size", sa.Integer), sa.Column("sample_size", sa.Integer),
                           sa.Column("probability", sa.Float))
    t["frame"] = sa.Table("sample_frame", meta, sa.Column("wave", sa.String), sa.Column("returnee_id", sa.Integer),
                          sa.Column("draw_id", sa.Integer), sa.Column("stratum_id", sa.Integer),
                          sa.Column("selected", sa.Boolean))
    t["follow_ups"] = sa.Table(
        "follow_ups", meta, sa.Column("id", sa.Integer), sa.Column("returnee_id", sa.Integer),
        sa.Column("wave", sa.String), sa.Column("due_date", sa.Date), sa.Column("window_opens", sa.Date),
        sa.Column("window_closes", sa.Date), sa.Column("channel", sa.String), sa.Column("source", sa.String),
        sa.Column("state", sa.String), sa.Column("disposition", sa.String), sa.Column("sample_draw_id", sa.Integer),
        sa.Column("stratum_id", sa.Integer), sa.Column("inclusion_probability", sa.Float),
        sa.Column("reminders_sent", sa.Integer), sa.Column("attempts", sa.Integer),
        sa.Column("next_action_at", sa.DateTime), sa.Column("created_at", sa.DateTime),
        sa.Column("closed_at", sa.DateTime), sa.Column("version", sa.Integer))
    t["responses"] = sa.Table("responses", meta, sa.Column("id", sa.Integer), sa.Column("returnee_id", sa.Integer),
                              sa.Column("wave", sa.String), sa.Column("disposition", sa.String),
                              sa.Column("imported", sa.Boolean), sa.Column("completed_at", sa.DateTime),
                              sa.Column("started_at", sa.DateTime), sa.Column("follow_up_id", sa.Integer))
    return t


def _migrate_data(conn):
    t = _tables()
    fu, resp = t["follow_ups"], t["responses"]
    for old, new in LEGACY.items():
        conn.execute(fu.update().where(fu.c.disposition == old).values(disposition=new))
    conn.execute(t["draws"].update().values(frame_stored=False))

    waves = {w.code: w for w in conn.execute(sa.select(t["waves"]))}
    returnees = {r.id: r for r in conn.execute(sa.select(t["returnees"]))}
    now = datetime.now(timezone.utc).replace(tzinfo=None)

    # Every response gets its follow-up.
    follow_ups = {(f.returnee_id, f.wave): f for f in conn.execute(sa.select(fu))}
    for r in conn.execute(sa.select(resp)).all():
        found = follow_ups.get((r.returnee_id, r.wave))
        code = LEGACY.get(r.disposition or "")
        if found is None:
            wave, returnee = waves[r.wave], returnees[r.returnee_id]
            due = returnee.return_date + timedelta(days=wave.due_days)
            closed = code is not None
            follow_up_id = conn.execute(fu.insert().values(
                returnee_id=r.returnee_id, wave=r.wave, due_date=due,
                window_opens=due - timedelta(days=wave.opens_days_before),
                window_closes=due + timedelta(days=wave.closes_days_after),
                channel="phone" if returnee.preferred_channel == "phone" else "sms",
                source="imported" if r.imported else "manual", state="closed" if closed else "phone_task",
                disposition=code, inclusion_probability=None, reminders_sent=0, attempts=0,
                next_action_at=None if closed else now, created_at=r.started_at or now,
                closed_at=(r.completed_at or now) if closed else None, version=1).returning(fu.c.id)).scalar_one()
        else:
            follow_up_id = found.id
            # The response's outcome wins when it carries answers (a paper interview imported after
            # the window closed the follow-up as a non-contact), or when the follow-up has none.
            if code is not None and (found.disposition is None or (code in ("1.1", "1.2") and found.disposition != code)):
                conn.execute(fu.update().where(fu.c.id == found.id).values(
                    state="closed", disposition=code, closed_at=r.completed_at or now, next_action_at=None))
        conn.execute(resp.update().where(resp.c.id == r.id).values(follow_up_id=follow_up_id))

    # Open follow-ups of returnees who replied STOP, withdrew or asked not to be contacted: the old
    # code left some on the phone list; the dispatcher closes them as 2.11 at its next run.
    refusers = sa.select(t["returnees"].c.id).where(sa.or_(
        t["returnees"].c.opted_out_at.is_not(None), t["returnees"].c.consent_withdrawn_at.is_not(None),
        t["returnees"].c.do_not_contact))
    conn.execute(fu.update().where(fu.c.state != "closed", fu.c.returnee_id.in_(refusers.scalar_subquery()))
                 .values(next_action_at=now))

    # Sampled follow-ups: their stratum as the draw made it (the case's country and partner);
    # their frame, as far as it is known: the selected cases.
    strata = {}
    for s in conn.execute(sa.select(t["strata"])):
        strata[(s.draw_id, s.country, s.partner_id)] = s.id
    draw_waves = {d.id: d.wave for d in conn.execute(sa.select(t["draws"]))}
    for f in conn.execute(sa.select(fu).where(fu.c.sample_draw_id.is_not(None))).all():
        returnee = returnees[f.returnee_id]
        stratum_id = strata.get((f.sample_draw_id, returnee.destination_country, returnee.partner_id))
        if stratum_id is None:
            continue
        conn.execute(fu.update().where(fu.c.id == f.id).values(stratum_id=stratum_id))
        conn.execute(t["frame"].insert().values(wave=draw_waves[f.sample_draw_id], returnee_id=f.returnee_id,
                                                draw_id=f.sample_draw_id, stratum_id=stratum_id, selected=True))

    # Census waves: strata cohort x country x partner, N_h = its follow-ups, probability 1.
    census = [code for code, w in waves.items() if not w.sampled]
    rows = conn.execute(sa.select(fu.c.id, fu.c.wave, fu.c.returnee_id).where(
        fu.c.wave.in_(census), fu.c.source == "planned")).all()
    groups: dict = {}
    for f in rows:
        returnee = returnees[f.returnee_id]
        key = (f.wave, returnee.return_date.strftime("%Y-%m"), returnee.destination_country, returnee.partner_id)
        groups.setdefault(key, []).append(f.id)
    draws: dict = {}
    for (wave, cohort, country, partner_id), ids in sorted(groups.items()):
        if (wave, cohort) not in draws:
            draws[(wave, cohort)] = conn.execute(t["draws"].insert().values(
                wave=wave, cohort=cohort, kind="census", sequence=0, seed=None, fraction=1.0, min_per_stratum=0,
                drawn_at=now, frame_size=0, sample_size=0, frame_stored=True).returning(t["draws"].c.id)).scalar_one()
        draw_id = draws[(wave, cohort)]
        stratum_id = conn.execute(t["strata"].insert().values(
            draw_id=draw_id, country=country, partner_id=partner_id, frame_size=len(ids), sample_size=len(ids),
            probability=1.0).returning(t["strata"].c.id)).scalar_one()
        conn.execute(fu.update().where(fu.c.id.in_(ids)).values(
            stratum_id=stratum_id, sample_draw_id=draw_id, inclusion_probability=1.0))
    for (wave, cohort), draw_id in draws.items():
        size = sum(len(ids) for key, ids in groups.items() if key[:2] == (wave, cohort))
        conn.execute(t["draws"].update().where(t["draws"].c.id == draw_id).values(frame_size=size, sample_size=size))


def downgrade():
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disposition', sa.String(length=24), nullable=True))
        batch_op.create_index('ix_responses_disposition', ['disposition'], unique=False)
    conn = op.get_bind()
    t = _tables()
    fu, resp = t["follow_ups"], t["responses"]
    for f in conn.execute(sa.select(fu.c.id, fu.c.disposition).where(fu.c.disposition.is_not(None))).all():
        old = BACK.get(f.disposition, "other")
        conn.execute(fu.update().where(fu.c.id == f.id).values(disposition=old))
        conn.execute(resp.update().where(resp.c.follow_up_id == f.id).values(disposition=old))
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_responses_follow_up_id_follow_ups'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_responses_follow_up_id'), type_='unique')
        batch_op.drop_column('follow_up_id')

    conn.execute(fu.update().where(fu.c.inclusion_probability.is_(None)).values(inclusion_probability=1.0))
    gone = sa.select(t["draws"].c.id).where(sa.or_(t["draws"].c.kind == "census", t["draws"].c.sequence > 0))
    conn.execute(fu.update().where(fu.c.sample_draw_id.in_(gone.scalar_subquery())).values(sample_draw_id=None))
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follow_ups_disposition'))
        batch_op.drop_index(batch_op.f('ix_follow_ups_sample_draw_id'))
        batch_op.drop_index(batch_op.f('ix_follow_ups_stratum_id'))
        batch_op.drop_constraint(batch_op.f('fk_follow_ups_stratum_id_sample_strata'), type_='foreignkey')
        batch_op.alter_column('disposition', existing_type=sa.String(length=8), type_=sa.String(length=24))
        batch_op.alter_column('inclusion_probability', existing_type=sa.Float(), nullable=False)
        batch_op.drop_column('contacted_at')
        batch_op.drop_column('stratum_id')
        batch_op.drop_column('source')

    with op.batch_alter_table('sample_frame', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sample_frame_draw_id'))
    op.drop_table('sample_frame')
    conn.execute(t["draws"].delete().where(t["draws"].c.kind == "census"))
    conn.execute(t["draws"].delete().where(t["draws"].c.sequence > 0))
    with op.batch_alter_table('sample_strata', schema=None) as batch_op:
        batch_op.drop_constraint('uq_sample_strata_draw_country_partner', type_='unique')
    with op.batch_alter_table('sample_draws', schema=None) as batch_op:
        batch_op.drop_constraint('uq_sample_draws_wave_cohort_seq', type_='unique')
        batch_op.create_unique_constraint('uq_sample_draws_wave_cohort', ['wave', 'cohort'])
        batch_op.alter_column('seed', existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_column('frame_stored')
        batch_op.drop_column('sequence')
        batch_op.drop_column('kind')

    with op.batch_alter_table('waves', schema=None) as batch_op:
        batch_op.drop_column('planned_through')

    with op.batch_alter_table('returnees', schema=None) as batch_op:
        batch_op.drop_column('phone_unusable_at')
        batch_op.alter_column('opted_out_at', new_column_name='sms_opted_out_at', existing_type=sa.DateTime())
