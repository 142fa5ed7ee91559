"""Every change on a discussion is announced exactly once, whichever front end made it.

Each change through the pages and through the JSON API must leave exactly one LiveEvent
row of the right kind (written in the change's own transaction), and nothing when the change
did not commit. Streams render each kind for each kind of viewer; a reconnect replays.
"""

from __future__ import annotations

import httpx
import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from ethicsforum.discussions.models import LiveEvent
from ethicsforum.main import create_app
from tests.conftest import fresh
from tests.discussions.conftest import open_discussion, position_body, post_position
from tests.discussions.test_live import cookie_for
from tests.discussions.test_views import claim_fields
from tests.factories import sign_in_browser
from tests.live import EventReader, serve_in_thread


class Announcements:
    """The discussion's LiveEvent rows, read a batch at a time."""

    def __init__(self, session, discussion_id: int) -> None:
        self.session = session
        self.discussion_id = discussion_id
        self.seen = 0

    def new(self) -> list[tuple[str, int]]:
        rows = (
            fresh(self.session)
            .exec(
                select(LiveEvent)
                .where(LiveEvent.discussion_id == self.discussion_id, LiveEvent.id > self.seen)
                .order_by(LiveEvent.id)
            )
            .all()
        )
        if rows:
            self.seen = rows[-1].id
        return [(r.kind, r.subject_id) for r in rows]


POSITION_FORM = {
    "option": "act",
    "summary": "Act now, through the form.",
    "body": "Because.",
    **claim_fields(("autonomy", "supports", "She asked.")),
}


class Pages:
    """The changes, made as a browser makes them (forms, CSRF, redirects)."""

    def __init__(self, client, world, discussion) -> None:
        self.client, self.world, self.d = client, world, discussion

    def _as(self, who: str) -> str:
        return sign_in_browser(self.client, who)

    def _post(self, who: str, url: str, **data) -> None:
        token = self._as(who)
        response = self.client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)
        assert response.status_code in (200, 303), (url, response.status_code, response.text)

    def position(self, who: str) -> int:
        self._post(who, f"/discussions/{self.d['id']}/positions", **POSITION_FORM)
        listed = self.client.get(
            f"/api/v1/discussions/{self.d['id']}/positions?per_page=100",
            headers=self.world["h"]["prof"],
        ).json()
        return max(p["id"] for p in listed)

    def edit_position(self, who: str, position_id: int) -> None:
        self._post(
            who,
            f"/positions/{position_id}/edit",
            **{**POSITION_FORM, "summary": "Edited through the form."},
        )

    def rebuttal(self, who: str, position_id: int) -> int:
        self._post(who, f"/positions/{position_id}/rebuttals", kind="counter", body="Not so.")
        tree = self.client.get(
            f"/api/v1/positions/{position_id}", headers=self.world["h"]["prof"]
        ).json()
        return max(r["id"] for r in tree["rebuttals"])

    def moderate(self, plural: str, post_id: int, action: str, **data) -> None:
        self._post("prof", f"/moderate/{plural}/{post_id}/{action}", **data)

    def phase(self, phase: str) -> None:
        self._post("prof", f"/discussions/{self.d['id']}/phase", phase=phase)

    def stance(self, who: str) -> None:
        self._post(who, f"/discussions/{self.d['id']}/stance", moment="initial", option="wait")

    def spotlight(self, position_id: int) -> None:
        target = f"position:{position_id}"
        self._post("prof", f"/discussions/{self.d['id']}/spotlight", target=target)


class Api:
    """The same changes through the JSON API."""

    def __init__(self, client, world, discussion) -> None:
        self.client, self.world, self.d = client, world, discussion

    def _call(self, method: str, who: str, url: str, body=None) -> httpx.Response:
        response = self.client.request(
            method, f"/api/v1{url}", json=body, headers=self.world["h"][who]
        )
        assert response.status_code in (200, 201, 204), (url, response.text)
        return response

    def position(self, who: str) -> int:
        return post_position(self.client, self.world, self.d, who)["id"]

    def edit_position(self, who: str, position_id: int) -> None:
        self._call("PATCH", who, f"/positions/{position_id}", {"summary": "Edited in the API."})

    def rebuttal(self, who: str, position_id: int) -> int:
        body = {"kind": "counter", "body": "Not so."}
        return self._call("POST", who, f"/positions/{position_id}/rebuttals", body).json()["id"]

    def moderate(self, plural: str, post_id: int, action: str, **data) -> None:
        if action == "mark":
            self._call("PUT", "prof", f"/{plural}/{post_id}/exemplary", {"note": data["note"]})
        elif action == "unmark":
            self._call("DELETE", "prof", f"/{plural}/{post_id}/exemplary")
        else:
            self._call("POST", "prof", f"/{plural}/{post_id}/{action}", data or None)

    def phase(self, phase: str) -> None:
        self._call("PATCH", "prof", f"/discussions/{self.d['id']}", {"phase": phase})

    def stance(self, who: str) -> None:
        body = {"moment": "initial", "option": "wait"}
        self._call("POST", who, f"/discussions/{self.d['id']}/stance", body)

    def spotlight(self, position_id: int) -> None:
        body = {"type": "position", "id": position_id}
        self._call("PUT", "prof", f"/discussions/{self.d['id']}/spotlight", body)


@pytest.mark.parametrize("front_end", [Pages, Api], ids=["pages", "api"])
def test_every_kind_of_change_is_announced_exactly_once(client, world, session, front_end):
    discussion = open_discussion(client, world, early_rebuttals=True)
    did = discussion["id"]
    announced = Announcements(session, did)
    act = front_end(client, world, discussion)

    act.stance("ann")
    [(kind, _)] = announced.new()
    assert kind == "stance"

    position = act.position("ann")
    assert announced.new() == [("position", position)]

    act.edit_position("ann", position)
    assert announced.new() == [("position_changed", position)]

    rebuttal = act.rebuttal("bob", position)
    assert announced.new() == [("rebuttal", rebuttal)]

    client.patch(
        f"/api/v1/rebuttals/{rebuttal}", json={"body": "Edited."}, headers=world["h"]["bob"]
    ).raise_for_status()
    assert announced.new() == [("rebuttal_changed", rebuttal)]

    for plural, post_id, kind in (
        ("positions", position, "position_changed"),
        ("rebuttals", rebuttal, "rebuttal_changed"),
    ):
        act.moderate(plural, post_id, "hide", reason="Off topic")
        assert announced.new() == [(kind, post_id)], "hide"
        act.moderate(plural, post_id, "restore")
        assert announced.new() == [(kind, post_id)], "restore"
        act.moderate(plural, post_id, "mark", note="Clear reasoning")
        assert announced.new() == [(kind, post_id)], "mark"
        act.moderate(plural, post_id, "unmark")
        assert announced.new() == [(kind, post_id)], "unmark"

    act.phase("rebuttals")
    assert announced.new() == [("phase", did)]

    act.spotlight(position)
    assert announced.new() == [("spotlight", did)]

    # A change that did not happen is not announced: a refused post, a flag (no change to
    # what anyone sees).
    refused = client.post(
        f"/api/v1/discussions/{did}/positions", json=position_body(), headers=world["h"]["ann"]
    )
    assert refused.status_code == 409
    client.post(
        f"/api/v1/positions/{position}/flag", json={"reason": "Unkind"}, headers=world["h"]["cat"]
    ).raise_for_status()
    assert announced.new() == []


def test_a_change_that_rolls_back_announces_nothing(client, world, session):
    from ethicsforum.discussions.models import Discussion

    discussion = open_discussion(client, world)
    announced = Announcements(session, discussion["id"])
    row = fresh(session).get(Discussion, discussion["id"])
    row.phase = "closed"
    session.add(row)
    session.flush()
    in_transaction = session.exec(
        select(LiveEvent).where(LiveEvent.discussion_id == discussion["id"])
    ).all()
    assert [(e.kind, e.subject_id) for e in in_transaction] == [("phase", discussion["id"])]
    session.rollback()
    assert announced.new() == []


def sse_soup(event) -> BeautifulSoup:
    return BeautifulSoup(event.data, "html.parser")


def test_edits_hides_and_marks_replace_the_post_where_it_stands_for_each_viewer(
    client, world, session, settings
):
    discussion = open_discussion(client, world, early_rebuttals=True)
    did = discussion["id"]
    position = post_position(client, world, discussion, "ann", summary="First words")
    pid = position["id"]
    with serve_in_thread(create_app(settings)) as base:
        url = f"{base}/discussions/{did}/events"
        page_url = f"{url}?position={pid}"
        readers = {
            "bob": EventReader(url, cookie_for(session, "bob")),
            "prof": EventReader(url, cookie_for(session, "prof")),
            "ann": EventReader(url, cookie_for(session, "ann")),
            "bob-page": EventReader(page_url, cookie_for(session, "bob")),
        }
        try:
            httpx.patch(
                f"{base}/api/v1/positions/{pid}",
                json={"summary": "Second thoughts"},
                headers=world["h"]["ann"],
            ).raise_for_status()
            for name, reader in readers.items():
                event = reader.next()
                assert event.event == "update", name
                replaced = sse_soup(event).select_one("[hx-swap-oob]")
                expected_id = "position" if name == "bob-page" else f"position-{pid}"
                assert replaced["id"] == expected_id, name
                assert "Second thoughts" in event.data and "First words" not in event.data
            assert "Ann Real" not in readers["bob"].last.data
            assert "Ann Real" in readers["prof"].last.data
            assert ">you<" in readers["ann"].last.data
            assert "Edit your position" not in readers["bob-page"].last.data

            httpx.post(
                f"{base}/api/v1/positions/{pid}/hide",
                json={"reason": "Names a patient"},
                headers=world["h"]["prof"],
            ).raise_for_status()
            for reader in readers.values():
                reader.next()
            peer = sse_soup(readers["bob"].last)
            assert "Hidden by a moderator: Names a patient" in peer.text
            assert "Second thoughts" not in readers["bob"].last.data
            assert "Hidden from students" in readers["prof"].last.data
            assert "Second thoughts" in readers["prof"].last.data

            httpx.post(
                f"{base}/api/v1/positions/{pid}/restore", headers=world["h"]["prof"]
            ).raise_for_status()
            for reader in readers.values():
                reader.next()
            assert "Second thoughts" in readers["bob"].last.data

            httpx.put(
                f"{base}/api/v1/positions/{pid}/exemplary",
                json={"note": "Weighs both"},
                headers=world["h"]["prof"],
            ).raise_for_status()
            for reader in readers.values():
                reader.next()
            assert sse_soup(readers["bob"].last).select_one(".badge.exemplary")

            # A rebuttal, then its edit, on the position page only.
            rebuttal = httpx.post(
                f"{base}/api/v1/positions/{pid}/rebuttals",
                json={"kind": "question", "body": "Why now?"},
                headers=world["h"]["cat"],
            ).json()
            new = readers["bob-page"].next()
            assert new.event == "rebuttal"
            assert sse_soup(new).select_one(f"#rebuttal-{rebuttal['id']}-post")
            httpx.patch(
                f"{base}/api/v1/rebuttals/{rebuttal['id']}",
                json={"body": "Why not wait?"},
                headers=world["h"]["cat"],
            ).raise_for_status()
            changed = readers["bob-page"].next()
            assert changed.event == "update"
            post = sse_soup(changed).select_one("[hx-swap-oob]")
            assert post["id"] == f"rebuttal-{rebuttal['id']}-post"
            assert "Why not wait?" in post.text and "Cat Real" not in changed.data
            # The discussion page's streams were told of the rebuttal once (an activity
            # line) and not of its edit: the next thing they hear is the phase.
            assert readers["bob"].next().event == "rebuttal"
            httpx.patch(
                f"{base}/api/v1/discussions/{did}",
                json={"phase": "closed"},
                headers=world["h"]["prof"],
            ).raise_for_status()
            assert readers["bob"].next().event == "phase"
        finally:
            for reader in readers.values():
                reader.close()


def test_a_stance_updates_its_students_other_tabs_and_nobody_elses(
    client, world, session, settings
):
    discussion = open_discussion(client, world)
    did = discussion["id"]
    with serve_in_thread(create_app(settings)) as base:
        url = f"{base}/discussions/{did}/events"
        ann = EventReader(url, cookie_for(session, "ann"))
        bob = EventReader(url, cookie_for(session, "bob"))
        try:
            httpx.post(
                f"{base}/api/v1/discussions/{did}/stance",
                json={"moment": "initial", "option": "wait"},
                headers=world["h"]["ann"],
            ).raise_for_status()
            event = ann.next()
            assert event.event == "update"
            assert sse_soup(event).select_one("#stance-record #initial-stance")
            httpx.patch(
                f"{base}/api/v1/discussions/{did}",
                json={"phase": "rebuttals"},
                headers=world["h"]["prof"],
            ).raise_for_status()
            assert bob.next().event == "phase"  # bob heard nothing of ann's stance
        finally:
            ann.close()
            bob.close()


def test_a_reconnecting_stream_is_sent_what_it_missed(client, world, session, settings):
    discussion = open_discussion(client, world)
    did = discussion["id"]
    with serve_in_thread(create_app(settings)) as base:
        url = f"{base}/discussions/{did}/events"
        bob_cookie = cookie_for(session, "bob")
        first = EventReader(url, bob_cookie)
        try:
            a = post_position(client, world, discussion, "ann", summary="Heard live")
            heard = first.next()
            assert "Heard live" in heard.data and heard.id
        finally:
            first.close()
        # While bob is away: a position and a phase change.
        b = post_position(client, world, discussion, "cat", summary="Missed while away")
        client.patch(
            f"/api/v1/discussions/{did}", json={"phase": "rebuttals"}, headers=world["h"]["prof"]
        ).raise_for_status()
        again = EventReader(url, bob_cookie, headers={"Last-Event-ID": heard.id})
        try:
            replayed = [again.next(), again.next()]
            assert [e.event for e in replayed] == ["position", "phase"]
            assert "Missed while away" in replayed[0].data
            assert f"position-{a['id']}" not in replayed[0].data
            assert int(replayed[0].id) > int(heard.id)
        finally:
            again.close()
        # A page names where it was rendered; its stream starts from there.
        sign_in_browser(client, "bob")
        rendered = BeautifulSoup(client.get(f"/discussions/{did}").text, "html.parser")
        connect = rendered.select_one("[sse-connect]")["sse-connect"]
        assert connect.endswith(f"?after={replayed[1].id}")
        assert b["id"] > a["id"]


def test_a_stream_too_far_behind_is_asked_to_reload(client, world, session, settings, monkeypatch):
    from ethicsforum.discussions import stream

    monkeypatch.setattr(stream, "REPLAY", 2)
    discussion = open_discussion(client, world)
    did = discussion["id"]
    for who in ("ann", "bob", "cat"):
        post_position(client, world, discussion, who)
    with serve_in_thread(create_app(settings)) as base:
        reader = EventReader(f"{base}/discussions/{did}/events?after=0", cookie_for(session, "bob"))
        try:
            notice = reader.next()
            assert notice.event == "update"
            assert "Reload to see it all" in notice.data
        finally:
            reader.close()
