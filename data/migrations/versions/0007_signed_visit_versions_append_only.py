"""signed visit versions are append-only; no TRUNCATE of the audit trail on PostgreSQL; moved appointments
are found by their successor (index on rescheduled_from_id)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 01:00:00
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.create_index('ix_appointment_rescheduled_from', ['rescheduled_from_id'], unique=False)
    # a signed version of a visit, once written, is what the doctor signed: the database refuses to change it
    if bind.dialect.name == 'sqlite':
        for verb in ('UPDATE', 'DELETE'):
            op.execute(
                f"CREATE TRIGGER encounter_revision_no_{verb.lower()} BEFORE {verb} ON encounter_revision "
                "BEGIN SELECT RAISE(ABORT, 'signed visit versions cannot be changed'); END"
            )
    elif bind.dialect.name == 'postgresql':
        op.execute(
            "CREATE FUNCTION encounter_revision_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'signed visit versions cannot be changed'; END $$"
        )
        op.execute(
            "CREATE TRIGGER encounter_revision_append_only BEFORE UPDATE OR DELETE ON encounter_revision "
            "FOR EACH ROW EXECUTE FUNCTION encounter_revision_append_only()"
        )
        # row triggers do not fire for TRUNCATE: refuse it per statement, on both append-only tables
        op.execute(
            "CREATE TRIGGER encounter_revision_no_truncate BEFORE TRUNCATE ON encounter_revision "
            "FOR EACH STATEMENT EXECUTE FUNCTION encounter_revision_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()"
        )


def downgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index('ix_appointment_rescheduled_from')
    if bind.dialect.name == 'sqlite':
        op.execute('DROP TRIGGER IF EXISTS encounter_revision_no_update')
        op.execute('DROP TRIGGER IF EXISTS encounter_revision_no_delete')
    elif bind.dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event')
        op.execute('DROP TRIGGER IF EXISTS encounter_revision_no_truncate ON encounter_revision')
        op.execute('DROP TRIGGER IF EXISTS encounter_revision_append_only ON encounter_revision')
        op.execute('DROP FUNCTION IF EXISTS encounter_revision_append_only()')
