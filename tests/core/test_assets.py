"""Static files carry their content hash and are cached for a year; text is sent compressed."""

from __future__ import annotations

import gzip
import hashlib
import re

from lms.config import ROOT


def test_static_urls_carry_the_content_hash_and_are_cached_for_a_year(client):
    page = client.get("/").get_data(as_text=True)
    url = re.search(r'href="(/static/css/site\.css\?v=([0-9a-f]{12}))"', page)
    assert url, "the stylesheet's URL carries its hash"
    digest = hashlib.sha256((ROOT / "static/css/site.css").read_bytes()).hexdigest()[:12]
    assert url.group(2) == digest

    response = client.get(url.group(1))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"

    # Without the hash, or with an old one, the browser asks again (and gets a 304).
    for stale in ("/static/css/site.css", "/static/css/site.css?v=000000000000"):
        response = client.get(stale)
        assert response.headers["Cache-Control"] == "no-cache"
        again = client.get(stale, headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304


def test_static_text_is_sent_gzipped_to_browsers_that_accept_it(client):
    original = (ROOT / "static/css/site.css").read_bytes()
    response = client.get("/static/css/site.css", headers={"Accept-Encoding": "gzip, br"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert response.mimetype == "text/css"
    assert gzip.decompress(response.data) == original
    assert len(response.data) < len(original) / 3
    plain = client.get("/static/css/site.css")
    assert "Content-Encoding" not in plain.headers
    assert plain.data == original
    assert client.get("/static/css/../../lms/config.py").status_code == 404
    assert client.get("/static/css/none.css").status_code == 404


def test_pages_are_gzipped_with_a_random_length_header(client):
    sizes = set()
    for _ in range(6):
        response = client.get("/", headers={"Accept-Encoding": "gzip"})
        assert response.headers["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in response.headers["Vary"]
        assert "泸县" in gzip.decompress(response.data).decode()
        sizes.add(len(response.data))
    assert len(sizes) > 1, "the compressed length varies from one response to the next"
    assert "Content-Encoding" not in client.get("/").headers
