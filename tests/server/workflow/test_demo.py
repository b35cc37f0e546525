"""The demo data is walked through the workflow: every state is there, each timeline
replays, and seeding twice changes nothing."""

from sqlalchemy import Engine, func
from sqlmodel import Session, select

from server.cases.models import Case, CaseEvent, Photo
from server.core.config import Settings
from server.demo.seed import seed_demo
from server.sync.models import ChangeLog, TaskStatus, VerificationTask
from shared_schemas.enums import CaseStatus
from tests.server.workflow.helpers import replay, timeline


def _counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as s:
        return {
            t.__tablename__: s.exec(select(func.count()).select_from(t)).one()
            for t in (Case, CaseEvent, Photo, ChangeLog, VerificationTask)
        }


def test_the_demo_shows_every_state_through_the_real_loop(
    engine: Engine, settings: Settings
) -> None:
    with Session(engine) as s:
        seed_demo(s, settings)
        s.commit()
    first = _counts(engine)
    with Session(engine) as s:
        cases = s.exec(select(Case)).all()
        assert {c.status for c in cases} == set(CaseStatus)
        for case in cases:
            events = timeline(s, case.id)
            assert replay(events) == case.status, case.description
            assert case.version == sum(e.to_status is not None for e in events)
            assert [e.at for e in events] == sorted(e.at for e in events)
        assert any(c.rework_count == 1 for c in cases)
        assert any(e.action == "extend_deadline" for e in s.exec(select(CaseEvent)))
        assert any(e.changes.get("outcome") == "close" for e in s.exec(select(CaseEvent)))
        # A rectified case waits for the demo inspector's verification on the tablet.
        open_tasks = s.exec(
            select(VerificationTask).where(VerificationTask.status == TaskStatus.OPEN)
        ).all()
        assert len(open_tasks) == 1
        assert any(p.kind == "after" and p.event_id for p in s.exec(select(Photo)))
    with Session(engine) as s:
        seed_demo(s, settings)
        s.commit()
    assert _counts(engine) == first
