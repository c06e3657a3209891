"""Read side of the audit trail: the admin's filtered, paged viewer and a patient's "who opened my record".
Reads only: the trail is append-only (the AuditRepo port has only `add`; the database refuses UPDATE/DELETE)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from data.queries import Page, every_word
from data.tables import AccountRow, AuditEventRow, PatientRow
from domain.errors import NotAllowed
from domain.model import Actor, Role, ensure_aware

#: what a patient is shown of their own record's trail (the shared contract of the record helpers)
RECORD_ACTIONS: dict[str, str] = {
    "record.view": "Opened your record",
    "visit.save": "Saved notes of a visit",
    "visit.sign": "Signed a visit record",
    "visit.amend": "Amended a signed visit record",
    "prescription.print": "Printed a prescription",
    "record.refused": "Tried to open your record and was refused (no care relationship)",
}
MAX_PAGE = 100

E = AuditEventRow.__table__.c  # type: ignore[attr-defined]
ACC = AccountRow.__table__.alias("actor")  # type: ignore[attr-defined]
P = PatientRow.__table__.alias("subject")  # type: ignore[attr-defined]


@dataclass(frozen=True)
class AuditEntryDTO:
    id: int
    at: datetime
    actor_account_id: int | None
    actor_name: str  # "" for the system
    actor_role: str
    action: str
    entity: str
    entity_id: int | None
    patient_id: int | None
    patient_name: str
    detail: str


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""  # name or email of who acted (words, any order)
    patient: str = ""  # name of the patient concerned
    action: str = ""  # exact action name
    start: datetime | None = None  # UTC, inclusive
    end: datetime | None = None  # UTC, exclusive


class AuditQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine.execution_options(readonly=True)

    def _base(self) -> sa.Select:
        return sa.select(
            E.id,
            E.at,
            E.actor_account_id,
            ACC.c.display_name,
            E.actor_role,
            E.action,
            E.entity,
            E.entity_id,
            E.patient_id,
            P.c.name,
            E.detail,
        ).select_from(
            AuditEventRow.__table__.outerjoin(ACC, ACC.c.id == E.actor_account_id).outerjoin(  # type: ignore[attr-defined]
                P, P.c.id == E.patient_id
            )
        )

    @staticmethod
    def _dto(r: sa.Row) -> AuditEntryDTO:
        return AuditEntryDTO(
            id=r[0],
            at=ensure_aware(r[1]),
            actor_account_id=r[2],
            actor_name=r[3] or "",
            actor_role=r[4],
            action=r[5],
            entity=r[6],
            entity_id=r[7],
            patient_id=r[8],
            patient_name=r[9] or "",
            detail=r[10] or "",
        )

    def _page(self, where: list[sa.ColumnElement[bool]], limit: int, offset: int) -> Page[AuditEntryDTO]:
        limit = max(1, min(limit, MAX_PAGE))
        offset = max(0, offset)
        count = (
            sa.select(sa.func.count())
            .select_from(
                AuditEventRow.__table__.outerjoin(ACC, ACC.c.id == E.actor_account_id).outerjoin(  # type: ignore[attr-defined]
                    P, P.c.id == E.patient_id
                )
            )
            .where(*where)
        )
        with self.engine.connect() as conn:
            total = int(conn.execute(count).scalar_one())
            rows = conn.execute(
                self._base().where(*where).order_by(E.at.desc(), E.id.desc()).limit(limit).offset(offset)
            ).all()
        return Page([self._dto(r) for r in rows], total)

    def search(self, actor: Actor, f: AuditFilter, limit: int = 25, offset: int = 0) -> Page[AuditEntryDTO]:
        """The trail for admins, newest first, filtered by who acted, which patient, the action and a time range."""
        actor.require(Role.ADMIN)
        sqlite = self.engine.dialect.name == "sqlite"
        where: list[sa.ColumnElement[bool]] = []
        where += every_word(f.actor, (ACC.c.display_name,), (ACC.c.email,), sqlite=sqlite)
        where += every_word(f.patient, (P.c.name,), sqlite=sqlite)
        if f.action:
            where.append(E.action == f.action)
        if f.start is not None:
            where.append(E.at >= f.start)
        if f.end is not None:
            where.append(E.at < f.end)
        return self._page(where, limit, offset)

    def actions(self, actor: Actor) -> list[str]:
        """The action names the trail holds, for the filter (an indexed DISTINCT)."""
        actor.require(Role.ADMIN)
        with self.engine.connect() as conn:
            return [a for (a,) in conn.execute(sa.select(E.action).distinct().order_by(E.action)).all()]

    def record_access(self, actor: Actor, limit: int = 25, offset: int = 0) -> Page[AuditEntryDTO]:
        """For a patient: who opened or changed their own medical record, newest first. Only the patient's own
        entries, whatever is asked: the patient comes from the signed-in actor, never from the request."""
        actor.require(Role.PATIENT)
        if actor.patient_id is None:
            raise NotAllowed("Only patients have a record to show.")
        where = [E.patient_id == actor.patient_id, E.action.in_(sorted(RECORD_ACTIONS))]
        return self._page(where, limit, offset)
