"""The spotlight API: faculty put one position or claim in front of the room."""

from __future__ import annotations

from tests.discussions.conftest import open_discussion, post_position


def spotlight_path(discussion):
    return f"/api/v1/discussions/{discussion['id']}/spotlight"


def put(client, world, discussion, kind, target_id, who="prof"):
    return client.put(
        spotlight_path(discussion), json={"type": kind, "id": target_id}, headers=world["h"][who]
    )


def shown(client, world, discussion, who):
    response = client.get(spotlight_path(discussion), headers=world["h"][who])
    assert response.status_code == 200, response.text
    return response.json()


def hide(client, world, kind, post):
    response = client.post(
        f"/api/v1/{kind}s/{post['id']}/hide", json={"reason": "Check."}, headers=world["h"]["prof"]
    )
    assert response.status_code == 200, response.text


def test_faculty_spotlight_a_position_and_the_room_sees_it(client, world):
    discussion = open_discussion(client, world)
    ann = post_position(client, world, discussion, "ann", summary="Honour her wish.")
    assert shown(client, world, discussion, "bob") is None
    response = put(client, world, discussion, "position", ann["id"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["type"], body["id"], body["text"]) == ("position", ann["id"], "Honour her wish.")
    assert body["position_id"] == ann["id"] and body["option"] == "act"
    assert body["set_at"]
    for who in ("bob", "ann", "prof", "root"):
        seen = shown(client, world, discussion, who)
        assert (seen["type"], seen["id"], seen["text"]) == (
            "position",
            ann["id"],
            "Honour her wish.",
        ), who
        assert "author" not in seen and "Ann Real" not in str(seen), who
    assert client.get(spotlight_path(discussion)).status_code == 401
    assert client.get(spotlight_path(discussion), headers=world["h"]["zed"]).status_code == 404


def test_a_claim_in_the_spotlight_carries_its_framework_and_direction(client, world):
    discussion = open_discussion(client, world, early_rebuttals=True)
    ann = post_position(client, world, discussion, "ann")
    chosen = ann["claims"][1]  # justice, challenges
    response = put(client, world, discussion, "claim", chosen["id"])
    assert response.status_code == 200, response.text
    seen = shown(client, world, discussion, "cat")
    assert seen["type"] == "claim" and seen["id"] == chosen["id"]
    assert (seen["framework"], seen["direction"], seen["text"]) == (
        "justice",
        "challenges",
        "Others wait.",
    )
    assert seen["position_id"] == ann["id"] and seen["option"] == "act"
    # A rebuttal's claim points at the position it answers.
    answer = client.post(
        f"/api/v1/positions/{ann['id']}/rebuttals",
        json={
            "kind": "counter",
            "body": "No.",
            "claims": [
                {"framework": "autonomy", "direction": "challenges", "text": "She wavered."}
            ],
        },
        headers=world["h"]["bob"],
    ).json()
    assert put(client, world, discussion, "claim", answer["claims"][0]["id"]).status_code == 200
    seen = shown(client, world, discussion, "cat")
    assert (seen["framework"], seen["direction"], seen["text"]) == (
        "autonomy",
        "challenges",
        "She wavered.",
    )
    assert seen["position_id"] == ann["id"] and seen["option"] == "act"


def test_only_visible_current_things_of_this_discussion_can_be_spotlit(client, world):
    discussion = open_discussion(client, world)
    elsewhere = open_discussion(client, world)
    ann = post_position(client, world, discussion, "ann")
    bob = post_position(client, world, discussion, "bob", option="wait")
    foreign = post_position(client, world, elsewhere, "cat")

    def refused(kind, target_id):
        response = put(client, world, discussion, kind, target_id)
        assert response.status_code == 422, (kind, target_id, response.text)
        return response

    refused("position", foreign["id"])
    refused("claim", foreign["claims"][0]["id"])
    refused("position", 999999)
    refused("claim", 999999)
    hide(client, world, "position", bob)
    refused("position", bob["id"])
    refused("claim", bob["claims"][0]["id"])

    dropped = ann["claims"][2]
    edited = client.patch(
        f"/api/v1/positions/{ann['id']}",
        json={"claims": [{**c, "id": c["id"]} for c in ann["claims"][:2]]},
        headers=world["h"]["ann"],
    )
    assert edited.status_code == 200, edited.text
    response = refused("claim", dropped["id"])
    assert "edited" in response.text or "replaced" in response.text
    assert put(client, world, discussion, "claim", ann["claims"][0]["id"]).status_code == 200

    bad_type = client.put(
        spotlight_path(discussion), json={"type": "rebuttal", "id": 1}, headers=world["h"]["prof"]
    )
    assert bad_type.status_code == 422
    # Nothing refused replaced what is shown.
    assert shown(client, world, discussion, "bob")["id"] == ann["claims"][0]["id"]


def test_students_do_not_set_or_clear_the_spotlight(client, world):
    discussion = open_discussion(client, world)
    ann = post_position(client, world, discussion, "ann")
    assert put(client, world, discussion, "position", ann["id"], who="ann").status_code == 403
    assert put(client, world, discussion, "position", ann["id"], who="zed").status_code == 404
    assert shown(client, world, discussion, "bob") is None
    assert put(client, world, discussion, "position", ann["id"]).status_code == 200
    path = spotlight_path(discussion)
    assert client.delete(path, headers=world["h"]["bob"]).status_code == 403
    assert shown(client, world, discussion, "bob")["id"] == ann["id"]
    cleared = client.delete(path, headers=world["h"]["prof"])
    assert cleared.status_code == 204 and cleared.content == b""
    assert shown(client, world, discussion, "bob") is None
    assert shown(client, world, discussion, "prof") is None


def test_post_first_hides_the_spotlit_text_until_the_student_posts(client, world):
    discussion = open_discussion(client, world, post_first=True)
    ann = post_position(client, world, discussion, "ann")
    assert put(client, world, discussion, "position", ann["id"]).status_code == 200
    waiting = shown(client, world, discussion, "bob")
    # Bob learns that a position is in the spotlight, and nothing of it: post-first withholds
    # peers' posts altogether (their ids and options included) until he has posted.
    assert waiting["type"] == "position" and waiting["text"] is None
    assert waiting["id"] is None and waiting["position_id"] is None
    assert waiting["option"] is None
    assert shown(client, world, discussion, "ann")["text"] == "We should act now."
    assert shown(client, world, discussion, "prof")["text"] == "We should act now."
    post_position(client, world, discussion, "bob", option="wait")
    assert shown(client, world, discussion, "bob")["text"] == "We should act now."


def test_a_spotlit_position_hidden_later_shows_students_no_text(client, world):
    discussion = open_discussion(client, world)
    ann = post_position(client, world, discussion, "ann")
    assert put(client, world, discussion, "position", ann["id"]).status_code == 200
    hide(client, world, "position", ann)
    assert shown(client, world, discussion, "bob")["text"] is None
    assert shown(client, world, discussion, "prof")["text"] == "We should act now."
