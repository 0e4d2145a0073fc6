"""A client's suite on the host, run by tests/image/test_image.py against a container in
attach mode (FAKEVOIPBIN_URL and FAKEVOIPBIN_CONTROL_TOKEN set): the fixture resets
the container before each test and drives its clock, faults and journal."""

import json
import os
import urllib.error
import urllib.request

import pytest

TUTORIAL_TOKEN = "vb_a3Bf9xKmPq2nR7sT4wYzLp8mN5qR1xWe"
SEEN = {}


def http(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def test_1_the_fixture_drives_the_container(fakevoipbin):
    assert fakevoipbin.attached
    assert fakevoipbin.url == os.environ["FAKEVOIPBIN_URL"]
    keys = f"{fakevoipbin.url}/accesskeys?accesskey={TUTORIAL_TOKEN}"
    status, made = http("POST", keys, {"name": "from the host", "expire": 86400})
    assert status == 200, made
    SEEN["key"] = made["id"]
    fakevoipbin.journal.assert_called("PostAccesskeys", times=1, status=200)
    fakevoipbin.faults.add("GetAccesskeys", status=503, times=None)
    assert http("GET", keys)[0] == 503
    fakevoipbin.clock.advance(400 * 86400)  # past the tutorial key's year


def test_2_the_reset_undid_it_all(fakevoipbin):
    key = f"{fakevoipbin.url}/accesskeys/{SEEN['key']}?accesskey={TUTORIAL_TOKEN}"
    assert http("GET", key)[0] == 404, "the key made by test 1 is gone"
    status, page = http("GET", f"{fakevoipbin.url}/accesskeys?accesskey={TUTORIAL_TOKEN}")
    assert status == 200, "no fault, and the clock is back"
    fakevoipbin.journal.assert_called("GetAccesskeys", times=1, status=200)
    fakevoipbin.journal.assert_not_called("PostAccesskeys")


@pytest.mark.fakevoipbin(profile="live")
def test_3_a_marker_resets_the_container_to_live(fakevoipbin):
    assert fakevoipbin.profile == "live"
    keys = f"{fakevoipbin.url}/accesskeys?accesskey={TUTORIAL_TOKEN}"
    status, made = http("POST", keys, {"expire": 86400})
    assert status == 200 and made["tm_update"] is None, made
