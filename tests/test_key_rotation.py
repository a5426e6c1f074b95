"""`monitor rotate-key`: every encrypted column re-encrypted under the new key, in batches,
resumable after an interruption; afterwards the old key can be dropped."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select

from monitor.extensions import cipher, db
from monitor.keyrotation import encrypted_tables, rotate_key
from monitor.models import InboundMessage, Returnee, SmsMessage
from tests.conftest import make_follow_up, make_returnee
from tests.test_organisations_cli import invoke

CASES = 23  # three batches of 10 in `returnees`


@pytest.fixture
def keys(app):
    """The app's key list restored after the test (the app is shared by the session)."""
    before = list(app.config["DATA_ENCRYPTION_KEYS"])
    yield before
    app.config["DATA_ENCRYPTION_KEYS"] = before
    cipher.init_app(app)


def _use_keys(app, keys):
    app.config["DATA_ENCRYPTION_KEYS"] = list(keys)
    cipher.init_app(app)


def _seed(orgs):
    for number in range(CASES):
        returnee = make_returnee(orgs["caritas"], f"GE-R-{number:03}", orgs["caritas-ge"],
                                 phone=f"+99555510{number:04}", name=f"Tamar Rotation {number}")
        follow_up = make_follow_up(returnee)
        db.session.add(SmsMessage(follow_up_id=follow_up.id, returnee_id=returnee.id, kind="invitation",
                                  to=returnee.phone, body=f"Link {number}"))
    db.session.add(InboundMessage(provider_id="SM-rot-1", from_lookup=cipher.lookup_hash("+995555100001"),
                                  body="STOP", kind="stop"))
    db.session.commit()


def _raw_values():
    """Every stored ciphertext of every encrypted column: (table.column, value)."""
    found = []
    for rotation in encrypted_tables():
        for name in rotation.columns:
            column = sa.column(name, sa.Text)
            values = db.session.execute(select(column).select_from(sa.table(rotation.table.name))
                                        .where(column.is_not(None))).scalars()
            found += [(f"{rotation.table.name}.{name}", value) for value in values]
    return found


def _readable_with(key, values):
    fernet = Fernet(key)
    readable = 0
    for _where, value in values:
        try:
            fernet.decrypt(value.encode())
            readable += 1
        except InvalidToken:
            pass
    return readable


class Interrupted(Exception):
    pass


def test_encrypted_columns_are_found_in_the_metadata(app):
    found = {f"{t.table.name}.{c}" for t in encrypted_tables() for c in t.columns}
    assert {"returnees.name", "returnees.phone", "sms_messages.to", "sms_messages.body", "inbound_messages.body",
            "attention_items.note"} <= found
    assert {t.table.name: t.blind_indexes for t in encrypted_tables()}["returnees"] == {"phone_lookup": "phone"}


def test_rotation_interrupted_then_resumed_reads_with_the_new_key_alone(app, orgs, keys):
    old, new = keys[0], Fernet.generate_key().decode()
    _seed(orgs)
    values = _raw_values()
    assert len(values) == 2 * CASES + 2 * CASES + 1 and _readable_with(new, values) == 0

    _use_keys(app, [new, old])
    batches = []

    def stop_after_the_first_batch(table, rows):
        batches.append((table, rows))
        raise Interrupted

    with pytest.raises(Interrupted):
        rotate_key(batch_size=10, on_batch=stop_after_the_first_batch)
    db.session.rollback()
    halfway = _raw_values()
    assert batches == [("returnees", 10)]
    assert _readable_with(new, halfway) == 2 * 10  # the first batch's name and phone, committed
    # Meanwhile the app reads every case with both keys, and finds them by phone number.
    assert len(db.session.scalars(select(Returnee)).all()) == CASES
    found = db.session.scalars(select(Returnee).where(
        Returnee.phone_lookup.in_(cipher.lookup_hashes("+995555100015")))).one()
    assert found.name == "Tamar Rotation 15"

    progress = []
    report = rotate_key(batch_size=10, on_batch=lambda table, rows: progress.append((table, rows)))
    assert report.reencrypted == len(values) - 2 * 10 and not report.unreadable
    assert report.indexes_updated == CASES - 10
    assert sum(rows for table, rows in progress if table == "returnees") == CASES

    # The old key dropped: every value of every encrypted column reads with the new key alone.
    after = _raw_values()
    assert len(after) == len(values) and _readable_with(new, after) == len(values)
    _use_keys(app, [new])
    db.session.expire_all()
    names = sorted(r.name for r in db.session.scalars(select(Returnee)))
    assert names == sorted(f"Tamar Rotation {n}" for n in range(CASES))
    assert {m.body for m in db.session.scalars(select(SmsMessage))} == {f"Link {n}" for n in range(CASES)}
    # The lookup hashes were recomputed: a number is found with the new key's hash alone.
    assert cipher.lookup_hashes("+995555100003") == [cipher.lookup_hash("+995555100003")]
    assert db.session.scalar(select(Returnee.code).where(
        Returnee.phone_lookup == cipher.lookup_hash("+995555100003"))) == "GE-R-003"

    again = rotate_key(batch_size=10)
    assert (again.reencrypted, again.indexes_updated, again.rows) == (0, 0, report.rows)


def test_rotate_key_command_reports_progress_and_unreadable_values(app, orgs, keys):
    old, new = keys[0], Fernet.generate_key().decode()
    _seed(orgs)
    _use_keys(app, [new, old])
    result = invoke(app, "rotate-key", "--batch-size", "7")
    assert result.exit_code == 0, result.output
    assert f"{2 * CASES + 2 * CASES + 1} values re-encrypted under the first key" in result.output
    assert "the other keys can be dropped" in result.output
    assert "Tamar" not in result.output and "+99555" not in result.output

    # A value written under a key that is no longer listed: reported, never a traceback.
    stranger = Fernet(Fernet.generate_key()).encrypt(b"Lost Name").decode()
    db.session.execute(sa.text("UPDATE returnees SET name = :name WHERE code = 'GE-R-004'"), {"name": stranger})
    db.session.commit()
    result = invoke(app, "rotate-key")
    assert result.exit_code == 1
    assert "error: 1 values in returnees.name read with no key" in result.output


def test_a_row_the_app_changes_meanwhile_is_left_as_the_app_wrote_it(app, orgs, keys, monkeypatch):
    from monitor import keyrotation

    old, new = keys[0], Fernet.generate_key().decode()
    _seed(orgs)
    _use_keys(app, [new, old])
    # The first row of the second batch: on SQLite a batch that has written holds the only write
    # lock, and the app's edit would wait for its commit instead.
    target = db.session.scalar(select(Returnee.id).where(Returnee.code == "GE-R-010"))
    edited = Fernet(new).encrypt(b"Tamar Edited").decode()
    rotate_row = keyrotation._rotate_row

    def with_an_edit_meanwhile(conn, raw, rotation, row, *args):
        if rotation.table.name == "returnees" and row["id"] == target:
            # The web app saves an edit of this case on its own connection, between the
            # rotation's read and its write.
            with db.engine.begin() as other:
                other.execute(sa.text("UPDATE returnees SET name = :name WHERE id = :id"), {"name": edited, "id": target})
        return rotate_row(conn, raw, rotation, row, *args)

    monkeypatch.setattr(keyrotation, "_rotate_row", with_an_edit_meanwhile)
    report = rotate_key(batch_size=10)
    assert report.changed_meanwhile == 1
    db.session.expire_all()
    assert db.session.get(Returnee, target).name == "Tamar Edited"  # the edit is not overwritten

    monkeypatch.setattr(keyrotation, "_rotate_row", rotate_row)
    again = rotate_key(batch_size=10)
    assert (again.changed_meanwhile, again.reencrypted) == (0, 1)  # the case's phone, under the old key still
    assert _readable_with(new, _raw_values()) == len(_raw_values())
