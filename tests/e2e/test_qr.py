#!/usr/bin/env python3
"""End-to-end tests of GET /urls/<id>/qr against a running write-svc (run by tests/e2e/run.sh).

    WRITE_URL=http://127.0.0.1:PORT PUBLIC_BASE_URL=https://sho.rt/ tests/e2e/test_qr.py

Creates a link, fetches its QR code as PNG and SVG and decodes both with zbarimg (the PNG as
served; the SVG parsed as XML, its path redrawn into a PGM image): the text must be
PUBLIC_BASE_URL without its trailing slashes + "/" + the short code. Checks content types,
Cache-Control, HEAD, sizes and margins, and the JSON errors (422 naming each bad parameter,
404 for an unknown link, compact bodies). Prints cmocka-style summary lines so the runner's
cmocka_tally counts it; exits 1 when a test failed.
"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs"))
from replay import is_compact  # noqa: E402  (one definition of "compact" for every test)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from cmocka_style import run_tests  # noqa: E402

BASE = os.environ["WRITE_URL"]
PUBLIC = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8080").rstrip("/")
TMP = tempfile.mkdtemp(prefix="e2e-qr.")
SVG_NS = "{http://www.w3.org/2000/svg}"


def request(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(BASE + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def zbar(path):
    """The text zbarimg decodes from an image file (one QR code expected)."""
    out = subprocess.run(["zbarimg", "--raw", "-q", path], capture_output=True, timeout=30)
    assert out.returncode == 0, f"zbarimg found no code in {path} (status {out.returncode})"
    return out.stdout.decode().rstrip("\n")


def json_error(status, path, fields=()):
    got, headers, body = request("GET", path)
    assert got == status, f"GET {path}: {got} instead of {status}: {body[:200]!r}"
    assert headers["Content-Type"].startswith("application/json"), headers["Content-Type"]
    text = body.decode()
    assert is_compact(text), f"GET {path}: not compact: {text}"
    j = json.loads(text)
    assert isinstance(j.get("error"), str) and j["error"], j
    for f in fields:
        assert isinstance(j["details"].get(f), str) and j["details"][f], (f, j)
    if fields:
        assert set(j["details"]) == set(fields), (path, j)
    return j


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def new_link():
    status, _, body = request("POST", "/urls", {"original_url": "https://example.com/qr-e2e"})
    assert status == 201, (status, body)
    j = json.loads(body)
    return j["id"], j["short_code"]


LINK = new_link()


def svg_to_pgm(svg_text, path, scale=8, border=4):
    """Redraws the SVG (white background, one black path of axis-aligned runs) as a PGM."""
    root = ET.fromstring(svg_text)
    assert root.tag == SVG_NS + "svg", root.tag
    x0, y0, w, h = (int(v) for v in root.get("viewBox").split())
    assert (x0, y0) == (0, 0) and w == h, root.get("viewBox")
    paths = root.findall(SVG_NS + "path")
    assert len(paths) == 1 and paths[0].get("fill") == "#000000"
    d = paths[0].get("d")
    runs = re.findall(r"M(\d+) (\d+)h(\d+)v1h-(\d+)z", d)
    assert "".join(f"M{x} {y}h{n}v1h-{m}z" for x, y, n, m in runs) == d, "unexpected path syntax"
    grid = [[0] * w for _ in range(h)]
    for x, y, n, m in runs:
        assert n == m
        for i in range(int(n)):
            grid[int(y)][int(x) + i] = 1
    side = (w + 2 * border) * scale
    pixels = bytearray([255]) * (side * side)
    for my in range(h):
        for mx in range(w):
            if grid[my][mx]:
                for dy in range(scale):
                    row = ((my + border) * scale + dy) * side
                    start = row + (mx + border) * scale
                    pixels[start:start + scale] = bytes(scale)
    with open(path, "wb") as f:
        f.write(b"P5\n%d %d\n255\n" % (side, side) + bytes(pixels))
    return w


# ---- tests ---------------------------------------------------------------------------------


def test_png_decodes_to_the_short_url():
    uid, code = LINK
    for query, side in (("", 256), ("?format=png", 256), ("?size=512&margin=2", 512),
                        ("?format=png&size=2048&margin=16", 2048), ("?size=32&margin=0", None)):
        status, headers, body = request("GET", f"/urls/{uid}/qr{query}")
        assert status == 200, (query, status, body[:200])
        assert headers["Content-Type"] == "image/png", headers["Content-Type"]
        assert headers["Cache-Control"] == "private, max-age=300", headers["Cache-Control"]
        w, h = png_size(body)
        assert w == h and (side is None or w == side), (query, w, h)
        path = os.path.join(TMP, "qr.png")
        with open(path, "wb") as f:
            f.write(body)
        assert zbar(path) == f"{PUBLIC}/{code}", (query, zbar(path))


def test_svg_is_xml_and_decodes_to_the_short_url():
    uid, code = LINK
    status, headers, body = request("GET", f"/urls/{uid}/qr?format=svg&size=300&margin=3")
    assert status == 200, (status, body[:200])
    assert headers["Content-Type"] == "image/svg+xml", headers["Content-Type"]
    assert headers["Cache-Control"] == "private, max-age=300"
    root = ET.fromstring(body)
    assert root.get("width") == "300" and root.get("height") == "300", root.attrib
    path = os.path.join(TMP, "qr.pgm")
    total = svg_to_pgm(body.decode(), path)
    modules = total - 2 * 3
    assert modules >= 21 and (modules - 17) % 4 == 0, f"{modules} modules is no QR version"
    assert zbar(path) == f"{PUBLIC}/{code}"


def test_head_has_the_headers_and_no_body():
    uid, _ = LINK
    status, headers, body = request("HEAD", f"/urls/{uid}/qr?format=svg")
    assert status == 200 and body == b"", (status, body[:100])
    assert headers["Content-Type"] == "image/svg+xml"


def test_inactive_link_still_has_its_code():
    uid, code = new_link()
    status, _, _ = request("PUT", f"/urls/{uid}", {"is_active": False})
    assert status == 200
    status, _, body = request("GET", f"/urls/{uid}/qr")
    assert status == 200
    path = os.path.join(TMP, "inactive.png")
    with open(path, "wb") as f:
        f.write(body)
    assert zbar(path) == f"{PUBLIC}/{code}"


def test_bad_parameters_422_json():
    uid, _ = LINK
    cases = {
        "format=gif": ("format",), "format=": ("format",), "format=SVG": ("format",),
        "size=31": ("size",), "size=2049": ("size",), "size=abc": ("size",),
        "size=": ("size",), "size=1e3": ("size",), "size=-5": ("size",),
        "size=256.0": ("size",), "margin=17": ("margin",), "margin=-1": ("margin",),
        "margin=x": ("margin",), "size=99999999999999999999": ("size",),
        "format=jpeg&size=0&margin=99": ("format", "size", "margin"),
    }
    for query, fields in cases.items():
        json_error(422, f"/urls/{uid}/qr?{query}", fields)


def test_unknown_link_404_json():
    json_error(404, "/urls/999999999/qr")
    json_error(404, "/urls/999999999/qr?format=svg")
    json_error(404, "/urls/abc/qr")
    uid, _ = new_link()
    assert request("DELETE", f"/urls/{uid}")[0] == 204
    json_error(404, f"/urls/{uid}/qr")


def test_wrong_method_405_json():
    uid, _ = LINK
    status, headers, body = request("POST", f"/urls/{uid}/qr", {})
    assert status == 405, status
    assert is_compact(body.decode()) and json.loads(body)["error"]


def main():
    return run_tests(globals(), after=lambda: shutil.rmtree(TMP, ignore_errors=True))


if __name__ == "__main__":
    sys.exit(main())
