"""Demo mode: accounts, a cohort and a discussion, and credentials shown only then."""

from __future__ import annotations

from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlmodel import select

from ethicsforum import demo
from ethicsforum.accounts import cohorts
from ethicsforum.accounts.models import Account, Cohort
from ethicsforum.discussions.models import Discussion, Position, Rebuttal, Revision, Stance
from ethicsforum.main import create_app
from ethicsforum.moderation.models import ExemplaryMark
from tests.conftest import fresh
from tests.factories import sign_in_browser


def test_demo_data_is_created_once(engine, settings, session, library):
    demo.ensure_demo(settings, engine)
    demo.ensure_demo(settings, engine)
    fresh(session)
    usernames = {a.username for a in session.exec(select(Account))}
    assert usernames == {u for u, *_ in demo.DEMO_ACCOUNTS + demo.DEMO_CLASSMATES}
    [cohort] = session.exec(select(Cohort)).all()
    members = {(a.username, m.role) for m, a in cohorts.members(session, cohort=cohort)}
    assert members == {("faculty", "faculty")} | {(f"student{n}", "student") for n in range(1, 10)}
    [discussion] = session.exec(select(Discussion)).all()
    assert discussion.anonymity == "anonymous_to_peers" and discussion.post_first
    assert discussion.phase == "rebuttals" and discussion.cohort_id == cohort.id


def test_the_demo_debate_is_seeded_once_and_leaves_student1_to_3_untouched(
    engine, settings, session, library
):
    demo.ensure_demo(settings, engine)
    demo.ensure_demo(settings, engine)
    fresh(session)
    ids = {a.username: a.id for a in session.exec(select(Account))}
    positions = session.exec(select(Position)).all()
    assert len(positions) == len(demo.POSITIONS) == 6
    assert len({p.option_key for p in positions}) >= 3
    assert len(session.exec(select(Rebuttal)).all()) == len(demo.REPLIES)
    assert len(session.exec(select(Revision)).all()) == 1
    assert len(session.exec(select(ExemplaryMark)).all()) == 1
    newcomers = {ids[f"student{n}"] for n in (1, 2, 3)}
    assert not {p.author_id for p in positions} & newcomers
    assert not {s.account_id for s in session.exec(select(Stance))} & newcomers


def test_the_sign_in_page_shows_demo_credentials_only_in_demo_mode(
    client, engine, settings, library
):
    demo.ensure_demo(settings, engine)
    assert not BeautifulSoup(client.get("/login").text, "html.parser").select("#demo-credentials")
    with TestClient(create_app(settings.model_copy(update={"demo": True}))) as demo_client:
        page = BeautifulSoup(demo_client.get("/login").text, "html.parser")
        box = page.select_one("#demo-credentials")
        assert demo.DEMO_PASSWORD in box.text
        assert {c.text for c in box.select("td code")} == {u for u, *_ in demo.DEMO_ACCOUNTS}
        sign_in_browser(demo_client, "student1", demo.DEMO_PASSWORD)
        cohorts_page = demo_client.get("/cohorts").text
        assert "Demo cohort" in cohorts_page
