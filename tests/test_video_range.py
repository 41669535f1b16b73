"""The embedded store's download route answers Range requests (issue 28, point 6), over real HTTP from `ergo serve`:
a browser seeks in a video by asking for the bytes it needs, and a route that always answers from the start leaves
the page's player stuck at the beginning (Chromium's currentTime fell back to 0 after a seek to 3.5 s of a 4 s clip
served without ranges). S3 and R2 answer ranges themselves."""

from __future__ import annotations

import os
import urllib.error
import urllib.request

import pytest

SIZE = 100_000
KEY = "results/01ARZ3NDEKTSV4RRFFQ69G5FAV/overlay.mp4"


@pytest.fixture(scope="module")
def video(shared_server) -> tuple[str, bytes]:
    """A signed link to a stored object of known random bytes (a range can only be checked against known bytes)."""
    url, store = shared_server
    body = os.urandom(SIZE)
    store.put(KEY, body, content_type="video/mp4")
    return store.presign_get(KEY, 600).replace(store.public_url, url), body


def fetch(url: str, range_header: str | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Range": range_header} if range_header else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


@pytest.mark.parametrize(("asked", "start", "stop"), [
    ("bytes=0-0", 0, 1), ("bytes=1000-1999", 1000, 2000), ("bytes=99000-", 99_000, SIZE), ("bytes=-500", SIZE - 500, SIZE),
    ("bytes=90000-200000", 90_000, SIZE),  # past the end: up to the end, as S3 answers
    ("bytes=0-", 0, SIZE),  # what a browser asks first
])
def test_a_range_is_answered_with_those_bytes_and_where_they_lie(video, asked, start, stop):
    url, body = video
    status, headers, got = fetch(url, asked)
    assert status == 206
    assert headers["content-range"] == f"bytes {start}-{stop - 1}/{SIZE}"
    assert int(headers["content-length"]) == stop - start == len(got)
    assert got == body[start:stop]
    assert headers["content-type"] == "video/mp4" and headers["accept-ranges"] == "bytes"


def test_without_a_range_the_whole_file_comes_and_says_ranges_are_accepted(video):
    url, body = video
    status, headers, got = fetch(url)
    assert status == 200 and got == body and headers["accept-ranges"] == "bytes" and "content-range" not in headers


@pytest.mark.parametrize("asked", ["bytes=100000-", "bytes=200000-300000", "bytes=500-100", "bytes=-0", "bytes=abc", "bytes=-"])
def test_a_range_that_is_malformed_or_past_the_end_is_refused_with_the_size(video, asked):
    url, _ = video
    status, headers, got = fetch(url, asked)
    assert status == 416
    assert headers["content-range"] == f"bytes */{SIZE}"
    assert b"range_not_satisfiable" in got and asked.encode() in got  # in words, naming the range asked for


@pytest.mark.parametrize("asked", ["items=0-10", "bytes=0-10,20-30"])
def test_another_unit_or_several_ranges_get_the_whole_file(video, asked):
    """A unit it does not know is ignored (RFC 9110, 14.2); several ranges are answered whole, as S3 answers them."""
    url, body = video
    status, _, got = fetch(url, asked)
    assert status == 200 and got == body


def test_a_range_still_needs_a_valid_signature(video):
    url, _ = video
    status, _, got = fetch(url.replace("signature=", "signature=0"), "bytes=0-99")
    assert status == 403 and b"invalid_signature" in got
