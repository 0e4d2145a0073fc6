from ..conftest import TUTORIAL_KEY_ID


def test_tutorial_get(fake):
    r = fake.client().get(f"/accesskeys/{TUTORIAL_KEY_ID}")
    assert r.status_code == 200
    assert r.json()["token_prefix"] == "vb_a3Bf9xKm"
