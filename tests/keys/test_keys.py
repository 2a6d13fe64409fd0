#!/usr/bin/env python3
"""API_AUTH=keys end-to-end tests against two real write-svc instances (run by tests/keys/run.sh).

    WRITE_URL=http://127.0.0.1:P1 WRITE_URL2=http://127.0.0.1:P2 ADMIN_KEY=sk_... \
    DATABASE_URL=postgresql://... WRITE_SVC=build/bin/write-svc tests/keys/test_keys.py

Both instances share one PostgreSQL and Redis and run with API_AUTH=keys. Covers every route
with no key, a wrong key, a revoked key (refused within a second on both instances), an
expired key, scopes (403), a key bound to a user on another user's data (404) and on its own,
the CLI, the 401 header, keys never returned by GET and stored as SHA-256 only. Prints
cmocka-style summary lines (tests/lib.sh cmocka_tally counts them); exits 1 when a test failed.
"""
import hashlib
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from cmocka_style import run_tests  # noqa: E402

A = os.environ["WRITE_URL"]
B = os.environ["WRITE_URL2"]
ADMIN = os.environ["ADMIN_KEY"]
DB = os.environ["DATABASE_URL"]
SVC = os.environ["WRITE_SVC"]
CACHE_S = 1.0  # API_KEY_CACHE_MS is at most 1000: a revocation shows within this

# Every route of write-svc with a sample path (ids filled in by the tests that need them).
ROUTES = [
    ("GET", "/users"), ("POST", "/users"), ("POST", "/users/bulk"), ("GET", "/users/1"),
    ("PUT", "/users/1"), ("PATCH", "/users/1"), ("DELETE", "/users/1"), ("GET", "/urls"),
    ("POST", "/urls"), ("GET", "/urls/1"), ("PUT", "/urls/1"), ("DELETE", "/urls/1"),
    ("GET", "/urls/1/events"), ("GET", "/urls/1/stats"), ("GET", "/urls/1/qr"),
    ("GET", "/events"), ("POST", "/events"), ("GET", "/events/1"), ("PUT", "/events/1"),
    ("DELETE", "/events/1"), ("GET", "/api-keys"), ("POST", "/api-keys"),
    ("DELETE", "/api-keys/1"), ("HEAD", "/users"),
]
PUBLIC = ["/health", "/metrics", "/openapi.json"]


def call(method, path, body=None, key=None, base=A, headers=None, raw=None):
    u = urllib.parse.urlparse(base)
    h = dict(headers or {})
    if key is not None:
        h.setdefault("Authorization", "Bearer " + key)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    if data is not None:
        h.setdefault("Content-Type", "application/json")
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        text = r.read()
        j = None
        if text and (r.getheader("Content-Type") or "").startswith("application/json"):
            j = json.loads(text)
        return r.status, r, j
    finally:
        c.close()


def ok(method, path, body=None, key=ADMIN, want=200, base=A):
    status, r, j = call(method, path, body, key, base)
    assert status == want, f"{method} {path}: {status} instead of {want}: {j}"
    return j


def psql(sql):
    out = subprocess.run(["psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-d", DB, "-c", sql],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def make_key(scopes, **kw):
    body = {"name": kw.pop("name", "test " + ",".join(scopes)), "scopes": scopes}
    body.update(kw)
    j = ok("POST", "/api-keys", body, want=201)
    assert j["key"].startswith("sk_") and len(j["key"]) == 46, j
    return j


def assert_401(status, r, j, what):
    assert status == 401, f"{what}: {status} {j}"
    assert r.getheader("WWW-Authenticate") == "Bearer", f"{what}: {r.getheader('WWW-Authenticate')}"
    assert (r.getheader("Content-Type") or "").startswith("application/json"), what
    if j is not None:  # HEAD has no body
        assert isinstance(j.get("error"), str) and j["error"], j


def setup_users():
    """Two users, each with a link and an event; returns their ids."""
    n = time.time_ns()
    u1 = ok("POST", "/users", {"username": f"ka{n}", "email": f"ka{n}@x.io"}, want=201)["id"]
    u2 = ok("POST", "/users", {"username": f"kb{n}", "email": f"kb{n}@x.io"}, want=201)["id"]
    l1 = ok("POST", "/urls", {"original_url": "https://a.example/", "user_id": u1}, want=201)["id"]
    l2 = ok("POST", "/urls", {"original_url": "https://b.example/", "user_id": u2}, want=201)["id"]
    e1 = ok("POST", "/events", {"event_type": "click", "url_id": l1, "user_id": u1}, want=201)["id"]
    e2 = ok("POST", "/events", {"event_type": "click", "url_id": l2, "user_id": u2}, want=201)["id"]
    return u1, u2, l1, l2, e1, e2


def test_every_route_without_key_is_401():
    for method, path in ROUTES:
        for base in (A, B):
            status, r, j = call(method, path, {} if method in ("POST", "PUT", "PATCH") else None,
                                base=base)
            assert_401(status, r, j, f"{method} {path} without a key")


def test_wrong_keys_are_401():
    bad = ["sk_" + "A" * 43, "sk_short", "not-a-key", "sk_" + "A" * 42 + "+", ADMIN + "x"]
    for key in bad:
        for method, path in ROUTES[:8]:
            assert_401(*call(method, path, key=key), f"{method} {path} with {key!r}")
    for h in ({"Authorization": "Basic " + ADMIN}, {"Authorization": "Bearer"},
              {"X-Api-Key": ""}, {"Authorization": ADMIN}):
        assert_401(*call("GET", "/users", headers=h), f"GET /users with {list(h)}")


def test_public_routes_need_no_key():
    for path in PUBLIC:
        status, _, _ = call("GET", path)
        assert status == 200, f"GET {path}: {status}"
    status, _, j = call("GET", "/nowhere")
    assert status == 404, status


def test_both_headers_work():
    assert call("GET", "/users", headers={"X-Api-Key": ADMIN})[0] == 200
    assert call("GET", "/users", headers={"Authorization": "bearer  " + ADMIN})[0] == 200
    assert call("GET", "/users", headers={"Authorization": "BEARER " + ADMIN}, base=B)[0] == 200


def test_create_validation():
    cases = [
        ({"scopes": ["read"]}, "name"), ({"name": "", "scopes": ["read"]}, "name"),
        ({"name": "x" * 101, "scopes": ["read"]}, "name"), ({"name": 5, "scopes": ["read"]}, "name"),
        ({"name": "n"}, "scopes"), ({"name": "n", "scopes": []}, "scopes"),
        ({"name": "n", "scopes": "read"}, "scopes"), ({"name": "n", "scopes": ["root"]}, "scopes"),
        ({"name": "n", "scopes": [1]}, "scopes"),
        ({"name": "n", "scopes": ["read"], "user_id": "1"}, "user_id"),
        ({"name": "n", "scopes": ["read"], "user_id": 0}, "user_id"),
        ({"name": "n", "scopes": ["read"], "expires_at": "2000-01-01T00:00:00"}, "expires_at"),
        ({"name": "n", "scopes": ["read"], "expires_at": "tomorrow"}, "expires_at"),
    ]
    for body, field in cases:
        status, _, j = call("POST", "/api-keys", body, ADMIN)
        assert status == 422, f"{body}: {status} {j}"
        assert field in j.get("details", {}), f"{body}: {j}"
    status, _, j = call("POST", "/api-keys", raw=b"[1]", key=ADMIN)
    assert status == 400, (status, j)
    status, _, j = call("POST", "/api-keys", {"name": "n", "scopes": ["read"], "user_id": 999999999},
                        ADMIN)
    assert status == 404 and j == {"error": "User not found"}, (status, j)
    assert call("DELETE", "/api-keys/999999999", key=ADMIN)[0] == 404


def test_key_shown_once_and_stored_hashed():
    k = make_key(["read"], name="shown once", expires_at="2999-01-01T00:00:00")
    assert set(k) == {"id", "name", "scopes", "user_id", "expires_at", "created_at", "revoked_at",
                      "key"}, k
    assert k["scopes"] == ["read"] and k["user_id"] is None and k["revoked_at"] is None, k
    assert k["expires_at"] == "2999-01-01T00:00:00", k
    listed = ok("GET", "/api-keys")
    mine = [x for x in listed if x["id"] == k["id"]]
    assert len(mine) == 1 and "key" not in mine[0], mine
    assert k["key"] not in json.dumps(listed)
    row = psql(f"SELECT key_hash FROM api_keys WHERE id = {k['id']}")
    assert row == hashlib.sha256(k["key"].encode()).hexdigest(), row
    dump = psql("SELECT string_agg(t::text, '|') FROM api_keys t")
    assert k["key"] not in dump and k["key"][3:] not in dump


def test_revoked_key_refused_within_a_second_on_both_instances():
    k = make_key(["read"])
    for base in (A, B):  # warm both caches
        assert call("GET", "/users", key=k["key"], base=base)[0] == 200
    assert call("DELETE", f"/api-keys/{k['id']}", key=ADMIN)[0] == 204
    assert_401(*call("GET", "/users", key=k["key"], base=A), "revoked key on the revoking instance")
    t0 = time.monotonic()
    while call("GET", "/users", key=k["key"], base=B)[0] == 200:
        assert time.monotonic() - t0 < CACHE_S, "revoked key still accepted after a second"
        time.sleep(0.05)
    time.sleep(0.1)
    for base in (A, B):
        assert_401(*call("GET", "/users", key=k["key"], base=base), "revoked key")
    listed = [x for x in ok("GET", "/api-keys") if x["id"] == k["id"]]
    assert listed[0]["revoked_at"], listed
    assert call("DELETE", f"/api-keys/{k['id']}", key=ADMIN)[0] == 404  # already revoked


def test_expired_key():
    k = make_key(["read"], expires_at=time.strftime("%Y-%m-%dT%H:%M:%S",
                                                    time.gmtime(time.time() + 2)))
    assert call("GET", "/users", key=k["key"])[0] == 200
    time.sleep(2.2)
    status, r, j = call("GET", "/users", key=k["key"], base=B)
    assert_401(status, r, j, "expired key")
    assert j == {"error": "API key expired"}, j
    k2 = make_key(["read"])
    psql(f"UPDATE api_keys SET expires_at = now() AT TIME ZONE 'UTC' - interval '1 minute'"
         f" WHERE id = {k2['id']}")
    time.sleep(CACHE_S + 0.1)
    assert_401(*call("GET", "/users", key=k2["key"]), "key expired in the database")


def test_scopes():
    r = make_key(["read"])["key"]
    w = make_key(["write"])["key"]
    rw = make_key(["read", "write"])["key"]
    assert call("GET", "/users", key=r)[0] == 200
    for method, path in [("POST", "/users"), ("PUT", "/users/1"), ("DELETE", "/urls/1"),
                         ("POST", "/events"), ("PATCH", "/events/1")]:
        status, _, j = call(method, path, {}, key=r)
        assert status == 403 and "write" in j["error"], (method, path, status, j)
    status, _, j = call("GET", "/users", key=w)
    assert status == 403 and "read" in j["error"], (status, j)  # write does not imply read
    n = time.time_ns()
    assert call("POST", "/users", {"username": f"w{n}", "email": f"w{n}@x.io"}, key=w)[0] == 201
    for method, path in [("POST", "/users/bulk"), ("GET", "/api-keys"), ("POST", "/api-keys"),
                         ("DELETE", "/api-keys/1")]:
        status, _, j = call(method, path, {}, key=rw)
        assert status == 403 and "admin" in j["error"], (method, path, status, j)
    status, _, j = call("GET", "/users/1", key=rw, base=B)
    assert status in (200, 404), status


def test_user_bound_key():
    u1, u2, l1, l2, e1, e2 = setup_users()
    k = make_key(["read", "write"], user_id=u1)
    assert k["user_id"] == u1
    key = k["key"]
    users = ok("GET", "/users?per_page=100", key=key)
    assert [u["id"] for u in users] == [u1], users
    assert ok("GET", f"/users/{u1}", key=key)["id"] == u1
    for method, path in [("GET", f"/users/{u2}"), ("PUT", f"/users/{u2}"),
                         ("DELETE", f"/users/{u2}"), ("GET", f"/urls/{l2}"),
                         ("PUT", f"/urls/{l2}"), ("DELETE", f"/urls/{l2}"),
                         ("GET", f"/urls/{l2}/events"), ("GET", f"/urls/{l2}/stats"),
                         ("GET", f"/urls/{l2}/qr"), ("GET", f"/events/{e2}"),
                         ("PUT", f"/events/{e2}"), ("DELETE", f"/events/{e2}"),
                         ("GET", f"/urls?user_id={u2}"), ("GET", f"/events?user_id={u2}")]:
        status, _, j = call(method, path, {} if method == "PUT" else None, key=key)
        assert status == 404 and j and j["error"].endswith("not found"), (method, path, status, j)
    urls = ok("GET", "/urls", key=key)
    assert {u["user_id"] for u in urls} == {u1}, urls
    events = ok("GET", "/events?per_page=100", key=key)
    assert events and {e["user_id"] for e in events} == {u1}, events
    assert ok("GET", f"/urls/{l1}", key=key)["id"] == l1
    assert call("GET", f"/urls/{l1}/stats", key=key)[0] == 200
    assert call("GET", f"/urls/{l1}/events", key=key)[0] == 200
    assert ok("GET", f"/events/{e1}", key=key)["id"] == e1
    mine = ok("POST", "/urls", {"original_url": "https://c.example/"}, key=key, want=201)
    assert mine["user_id"] == u1, mine
    status, _, j = call("POST", "/urls", {"original_url": "https://d.example/", "user_id": u2},
                        key=key)
    assert status == 404 and j == {"error": "User not found"}, (status, j)
    ev = ok("POST", "/events", {"event_type": "view", "url_id": l1}, key=key, want=201)
    assert ev["user_id"] == u1, ev
    for body in ({"event_type": "view", "url_id": l2}, {"event_type": "v", "user_id": u2}):
        assert call("POST", "/events", body, key=key)[0] == 404, body
    assert call("PUT", f"/events/{e1}", {"user_id": u2}, key=key)[0] == 404
    assert call("PUT", f"/urls/{l1}", {"title": "mine"}, key=key)[0] == 200
    for method, path in [("POST", "/users"), ("POST", "/users/bulk"), ("GET", "/api-keys")]:
        status, _, j = call(method, path, {}, key=make_key(["admin"], user_id=u1)["key"])
        assert status == 403 and "bound" in j["error"], (method, path, status, j)
    assert call("DELETE", f"/urls/{l1}", key=key)[0] == 204
    assert ok("GET", f"/urls/{l2}")["id"] == l2  # the other user's link is untouched


def test_idempotency_scoped_per_key():
    k1 = make_key(["read", "write"])["key"]
    k2 = make_key(["read", "write"])["key"]
    n = time.time_ns()
    body = {"username": f"i{n}", "email": f"i{n}@x.io"}
    h = {"Idempotency-Key": f"idem-{n}"}
    s1, r1, j1 = call("POST", "/users", body, k1, headers=h)
    s2, r2, j2 = call("POST", "/users", body, k1, headers=h, base=B)
    assert s1 == 201 and s2 == 201 and j1 == j2 and r2.getheader("Idempotent-Replayed") == "true"
    s3, r3, j3 = call("POST", "/users", body, k2, headers=h)
    assert s3 == 409 and r3.getheader("Idempotent-Replayed") is None, (s3, j3)  # not a replay


def cli(*args):
    env = dict(os.environ, DATABASE_URL=DB)
    return subprocess.run([SVC, "keys", *args], capture_output=True, text=True, env=env, timeout=30)


def test_cli():
    out = cli("create", "--name", "from the cli", "--scopes", "write,read")
    assert out.returncode == 0, out.stderr
    j = json.loads(out.stdout)
    assert j["scopes"] == ["read", "write"] and j["key"].startswith("sk_"), j
    assert call("GET", "/users", key=j["key"], base=B)[0] == 200
    listed = json.loads(cli("list").stdout)
    assert any(x["id"] == j["id"] for x in listed) and j["key"] not in json.dumps(listed)
    out = cli("revoke", str(j["id"]))
    assert out.returncode == 0, out.stderr
    time.sleep(CACHE_S + 0.1)
    for base in (A, B):
        assert_401(*call("GET", "/users", key=j["key"], base=base), "key revoked by the CLI")
    assert cli("revoke", str(j["id"])).returncode == 1
    for bad in (["create", "--name", "x"], ["create", "--name", "x", "--scopes", "root"],
                ["create", "--name", "", "--scopes", "read"], ["revoke", "abc"], ["nope"],
                ["create", "--name", "x", "--scopes", "read", "--expires-at", "2000-01-01T00:00:00"],
                ["create", "--name", "x", "--scopes", "read", "--user-id", "-3"]):
        out = cli(*bad)
        assert out.returncode == 2 and not out.stdout, (bad, out.returncode, out.stdout)
    out = cli("create", "--name", "x", "--scopes", "read", "--user-id", "999999999")
    assert out.returncode == 1 and "no such user" in out.stderr, out.stderr


def test_bulk_strict_rows():
    """BULK_STRICT=true (as in compose and Kubernetes): a bad row refuses the file, naming it."""
    tag = str(int(time.time() * 1000) % 10**9)
    for csv, line, field in ((f"username,email\nok{tag},ok{tag}@example.com\nb{tag},not-an-email\n", "3", "email"),
                             (f"username,email\nok{tag},ok{tag}@example.com\n\n\"bad name\",b@x.io\n", "4", "username")):
        status, r, j = call("POST", "/users/bulk", key=ADMIN, raw=csv.encode(),
                            headers={"Content-Type": "text/csv"})
        assert status == 422, (status, j)
        assert j["details"]["line"] == line and field in j["details"], j
        assert psql(f"SELECT count(*) FROM users WHERE username = 'ok{tag}'") == "0"
    status, r, j = call("POST", "/users/bulk", key=ADMIN, headers={"Content-Type": "text/csv"},
                        raw=f"username,email\nok{tag},ok{tag}@example.com\n".encode())
    assert status in (200, 201) and j["count"] == 1, (status, j)


def main():
    return run_tests(globals())


if __name__ == "__main__":
    sys.exit(main())
