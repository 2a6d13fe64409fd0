#!/usr/bin/env python3
"""Replays requests against the live services and validates every answer against
docs/openapi.json (tests/openapi/run.sh runs it; see there).

    replay.py DOC FRONT_URL WRITE_URL REDIRECT_URL [KEYS_WRITE_URL ADMIN_KEY]

Every request goes through the front door (FRONT_URL, nginx). For each answer:
  - the status is the one the step expects, and it is documented for the operation (the
    path template and method of the document that match the request; an unknown path must be
    components/responses/NotFound, a documented path with another method MethodNotAllowed);
  - the Content-Type is one the response documents (none: the body is empty);
  - every required response header is present, and headers with a schema match it;
  - a JSON body validates against the response schema (python3-jsonschema, Draft 2020-12);
    an image has the documented format's signature.
Then every operation of the document must have been answered with a 2xx (or a redirect), and 400, 404, 405,
409, 413 and 422 must each have been validated at least once. With KEYS_WRITE_URL (a write-svc
with API_AUTH=keys) and ADMIN_KEY, a second pass straight at that instance validates 401 (with
WWW-Authenticate: Bearer) and 403, which an open-mode stack never answers.

Features not merged yet (PENDING below): a step of such a feature that gets what the main
branch answers instead (the router's 404 "Not found" for a route that does not exist, or a
validation that is not there yet) prints SKIP, and that feature's later steps and operations
are skipped. Once a feature is merged its steps pass and a NOTE says to drop it from PENDING;
a feature not in PENDING never skips.

Prints "openapi: N passed, N failed, N skipped"; exits 1 on any failure.
"""
import json
import re
import sys
import urllib.error
import urllib.request

import jsonschema

# Features being built on other branches: drop a name once it is merged (see the NOTE lines).
PENDING = set()

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def send(method, url, headers, body):
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with OPENER.open(req, timeout=15) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


class Spec:
    def __init__(self, path):
        with open(path, "rb") as f:
            self.raw = f.read()
        self.doc = json.loads(self.raw)
        self.components = self.doc.get("components", {})
        # Concrete paths before templated ones (OpenAPI's matching rule), then longer first.
        self.templates = []
        for p in self.doc["paths"]:
            rx = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(p)) + "$"
            self.templates.append((p.count("{"), -len(p), p, re.compile(rx)))
        self.templates.sort()
        for name, schema in self.components.get("schemas", {}).items():
            jsonschema.Draft202012Validator.check_schema(schema)

    def resolve(self, obj):
        while isinstance(obj, dict) and "$ref" in obj and obj["$ref"].startswith("#/components/"):
            kind, name = obj["$ref"].split("/")[2:4]
            obj = self.components[kind][name]
        return obj

    def match(self, method, path):
        """(template, operation or None) for a request, or (None, None) for an unknown path."""
        for _, _, tpl, rx in self.templates:
            if rx.match(path):
                item = self.doc["paths"][tpl]
                m = method.lower()
                if m not in item and m == "head":
                    m = "get"
                return tpl, item.get(m)
        return None, None

    def operations(self):
        for tpl, item in self.doc["paths"].items():
            for m in METHODS:
                if m in item:
                    yield f"{m.upper()} {tpl}"

    def validate(self, schema, value):
        root = dict(schema)
        root["components"] = self.components
        v = jsonschema.Draft202012Validator(root)
        return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                for e in v.iter_errors(value)]


def media_base(ct):
    return ct.split(";")[0].strip().lower()


def check_answer(spec, method, path, status, headers, body):
    """Returns (operation key or None, list of problems)."""
    tpl, op = spec.match(method, path)
    if tpl is None:
        key, response = None, spec.resolve({"$ref": "#/components/responses/NotFound"})
        if status != 404:
            return None, [f"{path} matches no documented path, but the answer is {status}"]
    elif op is None:
        key, response = None, spec.resolve({"$ref": "#/components/responses/MethodNotAllowed"})
        if status != 405:
            return None, [f"{method} is not documented on {tpl}, but the answer is {status}"]
    else:
        m = method.lower() if method.lower() in spec.doc["paths"][tpl] else "get"
        key = f"{m.upper()} {tpl}"
        responses = op["responses"]
        if str(status) not in responses:
            return key, [f"status {status} is not documented for {key} "
                         f"(documented: {', '.join(responses)})"]
        response = spec.resolve(responses[str(status)])
    problems = []
    for name, h in response.get("headers", {}).items():
        h = spec.resolve(h)
        value = headers.get(name)
        if value is None:
            if h.get("required"):
                problems.append(f"header {name} missing")
            continue
        if "schema" in h:
            problems += [f"header {name}: {p}" for p in spec.validate(h["schema"], value)]
    content = response.get("content")
    if method == "HEAD":
        return key, problems
    if not content:
        if body:
            problems.append(f"a body ({len(body)} bytes) where none is documented")
        return key, problems
    ct = headers.get("Content-Type") or ""
    media = None
    for k in content:
        if (";" in k and ct.replace(" ", "") == k.replace(" ", "")) or \
                (";" not in k and media_base(ct) == k.lower()):
            media = k
            break
    if media is None:
        problems.append(f"Content-Type {ct!r} is not one of {list(content)}")
        return key, problems
    schema = content[media].get("schema", {})
    if media_base(media) == "application/json":
        try:
            value = json.loads(body)
        except ValueError as e:
            return key, problems + [f"the body is not JSON: {e}"]
        problems += spec.validate(schema, value)
    elif media == "image/png":
        if not body.startswith(b"\x89PNG\r\n\x1a\n"):
            problems.append("the body is not a PNG")
    elif media == "image/svg+xml":
        if b"<svg" not in body[:512]:
            problems.append("the body is not an SVG")
    else:
        try:
            problems += spec.validate(schema, body.decode())
        except UnicodeDecodeError:
            problems.append("the body is not text")
    return key, problems


class Replay:
    def __init__(self, spec, front, write, redirect):
        self.spec, self.front, self.write, self.redirect = spec, front, write, redirect
        self.vars = {}
        self.passed = self.failed = self.skipped = 0
        self.ok_statuses = {}  # operation key -> statuses validated
        self.statuses = set()
        self.absent = set()  # pending features found missing
        self.present = set()  # pending features found working
        self.skipped_ops = set()
        self.required = (400, 404, 405, 409, 413, 422)  # statuses coverage() wants validated

    def fail(self, what, problems):
        self.failed += 1
        print(f"FAIL {what}:")
        for p in problems:
            print(f"    {p}")

    def step(self, method, path, expect, body=None, headers=None, feature=None, want=None,
             capture=None, base=None):
        """One request: expect is the status; want maps headers to required values; capture
        maps a variable name to a key of the JSON answer."""
        missing = [v for v in re.findall(r"\$([a-z_0-9]+)", path) if v not in self.vars]
        if missing:
            self.fail(f"{method} {path}", [f"${missing[0]} is not set: an earlier step failed"])
            return None
        path = re.sub(r"\$([a-z_0-9]+)", lambda m: str(self.vars[m.group(1)]), path)
        what = f"{method} {path}"
        if feature in self.absent:
            self.skipped += 1
            print(f"SKIP {what}: feature {feature} is not merged yet")
            return None
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            if isinstance(body, bytes):
                data = body
            elif isinstance(body, str):
                data = body.encode()
            else:
                data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        status, got_headers, got_body = send(method, (base or self.front) + path, hdrs, data)
        if feature in PENDING and feature not in self.present and status != expect:
            router_404 = status == 404 and got_body.strip() == b'{"error":"Not found"}'
            if router_404 or (status // 100 == 2 and expect // 100 == 4):
                self.absent.add(feature)
                self.skipped += 1
                tpl, _ = self.spec.match(method, path.split("?")[0])
                self.skipped_ops.add(f"{method} {tpl}")
                print(f"SKIP {what}: answered {status} as before feature {feature} "
                      f"(not merged yet: its steps are skipped)")
                return None
        key, problems = check_answer(self.spec, method, path.split("?")[0], status,
                                     got_headers, got_body)
        if status != expect:
            problems.insert(0, f"status {status} instead of {expect}: {got_body[:200]!r}")
        for name, value in (want or {}).items():
            if got_headers.get(name) != value:
                problems.append(f"header {name}: {got_headers.get(name)!r} instead of {value!r}")
        if problems:
            self.fail(what, problems)
            return None
        if feature in PENDING and feature not in self.present:
            self.present.add(feature)
            print(f"NOTE feature {feature} is live: drop it from PENDING in tests/openapi/replay.py")
        self.passed += 1
        self.statuses.add(status)
        if key:
            self.ok_statuses.setdefault(key, set()).add(status)
        value = None
        if got_body and (got_headers.get("Content-Type") or "").startswith("application/json"):
            value = json.loads(got_body)
        for var, k in (capture or {}).items():
            self.vars[var] = value[k]
        return value

    def coverage(self):
        for key in self.spec.operations():
            got = sorted(self.ok_statuses.get(key, ()))
            if any(s // 100 in (2, 3) for s in got):
                print(f"  {key}: {', '.join(map(str, got))}")
                continue
            if key in self.skipped_ops:
                self.skipped += 1
                print(f"SKIP {key}: its feature is not merged yet")
                continue
            self.fail(f"coverage of {key}", [f"no 2xx answer validated (got {got})"])
        for s in self.required:
            if s not in self.statuses:
                self.fail("coverage", [f"no {s} answer validated"])


def sse_step(r):
    """GET /events/live never ends: read its first event (hello), make a click through the
    front door, read that click's event and validate its data against LiveClick."""
    import http.client
    import urllib.parse
    what = "GET /events/live"
    u = urllib.parse.urlsplit(r.front)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    problems = []
    try:
        conn.request("GET", "/events/live", headers={"Accept": "text/event-stream"})
        resp = conn.getresponse()
        _, problems = check_answer(r.spec, "GET", "/events/live", resp.status, resp.headers, b"")
        if resp.status != 200:
            problems.insert(0, f"status {resp.status} instead of 200")
        events = []

        def next_event():
            block = b""
            while b"\n\n" not in block:
                line = resp.fp.readline()
                if not line:
                    break
                block += line
            fields = dict(ln.split(": ", 1) for ln in block.decode().splitlines()
                          if ": " in ln and not ln.startswith(":"))
            events.append(fields.get("event"))
            return fields
        if not problems:
            if next_event().get("event") != "hello":
                problems.append(f"the first event is {events[-1]!r}, not hello")
            link = json.loads(send("POST", r.front + "/urls", {"Content-Type": "application/json"},
                                   json.dumps({"original_url": "https://example.com/live"})
                                   .encode())[2])
            send("GET", r.front + "/" + link["short_code"], {}, None)
            ev = next_event()
            while ev.get("event") not in ("click", None) and len(events) < 5:
                ev = next_event()
            if ev.get("event") != "click":
                problems.append(f"no click event after a redirect (events: {events})")
            else:
                data = json.loads(ev["data"])
                problems += r.spec.validate({"$ref": "#/components/schemas/LiveClick"}, data)
                if data.get("url_id") != link["id"]:
                    problems.append(f"the click is of url {data.get('url_id')}, not {link['id']}")
    except (OSError, ValueError, KeyError) as e:
        problems.append(f"{type(e).__name__}: {e}")
    finally:
        conn.close()
    if problems:
        r.fail(what, problems)
        return
    r.passed += 1
    r.statuses.add(200)
    r.ok_statuses.setdefault("GET /events/live", set()).add(200)


def scenario(r):
    big = {"username": "x" * (1536 * 1024), "email": "big@example.com"}
    # Operations, the document itself
    r.step("GET", "/health", 200)
    r.step("GET", "/livez", 200)
    r.step("GET", "/readyz", 200)
    r.step("GET", "/metrics", 200)
    r.step("GET", "/openapi.json", 200)
    r.step("HEAD", "/openapi.json", 200)
    r.step("PUT", "/openapi.json", 405, body={})
    r.step("POST", "/health", 405, body={})
    r.step("GET", "/nothing/here", 404)

    # Users
    r.step("POST", "/users", 201, {"username": "oa-alice", "email": "alice@example.com"},
           capture={"alice": "id"})
    r.step("POST", "/users", 409, {"username": "oa-alice", "email": "other@example.com"})
    r.step("POST", "/users", 400, ["bob"])
    r.step("POST", "/users", 400, "not json")
    r.step("POST", "/users", 422, {"username": 12345, "email": "bob@example.com"})
    r.step("POST", "/users", 422, {"username": "bob", "email": "not-an-email"})
    r.step("POST", "/users", 413, big)
    key = {"Idempotency-Key": "5f1c6a9e-oa-users-1"}
    bob = {"username": "oa-bob", "email": "bob@example.com"}
    r.step("POST", "/users", 201, bob, headers=key, capture={"bob": "id"})
    r.step("POST", "/users", 201, bob, headers=key, want={"Idempotent-Replayed": "true"})
    r.step("POST", "/users", 422, {"username": "oa-bob2", "email": "b2@example.com"}, headers=key)
    r.step("POST", "/users", 422, bob, headers={"Idempotency-Key": "not a key"})
    r.step("GET", "/users", 200)
    r.step("GET", "/users?page=1&per_page=1", 200)
    r.step("GET", "/users?page=abc&per_page=xyz", 200)
    r.step("GET", "/users?username=oa-alice", 200)
    r.step("GET", "/users/$alice", 200)
    r.step("HEAD", "/users/$alice", 200)
    r.step("GET", "/users/999999", 404)
    r.step("GET", "/users/abc", 404)
    r.step("DELETE", "/users", 405)
    r.step("PUT", "/users/$bob", 200, {"username": "oa-bobby"})
    r.step("PATCH", "/users/$bob", 200, {"email": "bobby@example.com"})
    r.step("PUT", "/users/$bob", 409, {"username": "oa-alice"})
    r.step("PATCH", "/users/$bob", 400, "[1]")
    r.step("PUT", "/users/$bob", 422, {"email": "nope"})
    r.step("PUT", "/users/999999", 404, {"username": "ghost"})
    r.step("PUT", "/users/$bob", 413, big)
    csv = "id,username,email,created_at\n,oa-carol,carol@example.com,\n,oa-dave,dave@example.com,\n"
    r.step("POST", "/users/bulk", 201, csv, headers={"Content-Type": "text/csv"})
    boundary = "oa-boundary-7f3a"
    multipart = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                 f"filename=\"users.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n"
                 f"--{boundary}--\r\n")
    r.step("POST", "/users/bulk", 201, multipart,
           headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    r.step("POST", "/users/bulk", 400, "", headers={"Content-Type": "text/plain"})
    r.step("POST", "/users/bulk", 400, "name,mail\nx,y\n", headers={"Content-Type": "text/csv"})

    # URLs
    r.step("POST", "/urls", 201, {"user_id": r.vars.get("alice"), "title": "Docs",
                                  "original_url": "https://example.com/docs?page=1#top"},
           capture={"url": "id", "code": "short_code"})
    r.step("POST", "/urls", 201, {"original_url": "https://example.com/launch",
                                  "short_code": "oa-launch_1", "redirect_type": 308,
                                  "max_clicks": 1, "expires_at": "2099-01-01T00:00:00"},
           capture={"url2": "id"})
    r.step("POST", "/urls", 201, {"original_url": "https://example.com/t", "redirect_type": 307},
           headers={"Idempotency-Key": "oa-urls-1"}, capture={"url3": "id", "code3": "short_code"})
    r.step("POST", "/urls", 201, {"original_url": "https://example.com/t", "redirect_type": 307},
           headers={"Idempotency-Key": "oa-urls-1"}, want={"Idempotent-Replayed": "true"})
    r.step("POST", "/urls", 422, {"original_url": "hello"})
    r.step("POST", "/urls", 422, "\"https://example.com/\"")
    r.step("POST", "/urls", 422, {"original_url": "https://example.com/", "short_code": "openapi.json"})
    r.step("POST", "/urls", 422, {"original_url": "https://example.com/", "redirect_type": 303})
    r.step("POST", "/urls", 404, {"user_id": 999999, "original_url": "https://example.com/"})
    r.step("POST", "/urls", 409, {"original_url": "https://example.com/", "short_code": "oa-launch_1"})
    r.step("POST", "/urls", 413, {"original_url": "https://example.com/", "title": "t" * (1536 * 1024)})
    r.step("GET", "/urls", 200)
    r.step("GET", "/urls?user_id=$alice&is_active=true&page=1&per_page=5", 200)
    r.step("GET", "/urls?user_id=abc", 400)
    r.step("GET", "/urls?is_active=maybe", 400)
    r.step("GET", "/urls?user_id=999999", 404)
    r.step("GET", "/urls/$url", 200)
    r.step("GET", "/urls/999999", 404)

    # The redirect, through the front door
    r.step("GET", "/$code", 302, headers={"User-Agent": "openapi-replay"},
           want={"Location": "https://example.com/docs?page=1#top",
                 "Cache-Control": "private, max-age=0"})
    r.step("HEAD", "/$code", 302, want={"Location": "https://example.com/docs?page=1#top"})
    r.step("GET", "/$code3", 307)
    r.step("HEAD", "/oa-launch_1", 308)
    r.step("GET", "/oa-launch_1", 308, want={"Location": "https://example.com/launch"})
    r.step("GET", "/oa-launch_1", 410)
    r.step("HEAD", "/oa-launch_1", 410)
    r.step("GET", "/nosuchcode", 404)
    r.step("HEAD", "/nosuchcode", 404)

    # Events of a link, stats, QR code
    r.step("GET", "/urls/$url/events", 200)
    r.step("GET", "/urls/$url/events?event_type=click", 200)
    r.step("GET", "/urls/999999/events", 404)
    r.step("GET", "/urls/$url/stats", 200)
    r.step("GET", "/urls/999999/stats", 404)
    r.step("GET", "/urls/$url/stats?interval=week", 422, feature="analytics")
    r.step("GET", "/urls/$url/stats?interval=hour", 200, feature="analytics")
    r.step("GET", "/urls/$url/stats?from=2026-01-01T00:00:00&to=2026-01-03T00:00:00&interval=day",
           200, feature="analytics")
    r.step("GET", "/urls/$url/stats?from=yesterday", 422, feature="analytics")
    r.step("GET", "/urls/$url/stats?from=2026-01-03T00:00:00&to=2026-01-01T00:00:00", 422,
           feature="analytics")
    r.step("GET", "/urls/$url/qr", 200, feature="qr")
    r.step("GET", "/urls/$url/qr?format=svg&size=128&margin=2", 200, feature="qr")
    r.step("GET", "/urls/$url/qr?format=gif&size=5", 422, feature="qr")
    r.step("GET", "/urls/999999/qr", 404, feature="qr")

    # Updates of a link
    r.step("PUT", "/urls/$url", 200, {"title": "Old docs", "is_active": False})
    r.step("GET", "/$code", 404)
    r.step("PATCH", "/urls/$url", 200, {"is_active": True, "max_clicks": None, "expires_at": None})
    r.step("PUT", "/urls/$url", 422, {"is_active": "yes"})
    r.step("PATCH", "/urls/$url", 422, "[]")
    r.step("PUT", "/urls/$url", 409, {"short_code": "oa-launch_1"})
    r.step("PUT", "/urls/999999", 404, {"title": "x"})
    r.step("PATCH", "/urls/$url", 413, {"title": "t" * (1536 * 1024)})

    # Events
    r.step("POST", "/events", 201, {"event_type": "share", "user_id": r.vars.get("alice"),
                                    "url_id": r.vars.get("url"), "details": {"channel": "email"}},
           capture={"event": "id"})
    r.step("POST", "/events", 201, {"event_type": "signup"}, headers={"Idempotency-Key": "oa-ev-1"})
    r.step("POST", "/events", 201, {"event_type": "signup"}, headers={"Idempotency-Key": "oa-ev-1"},
           want={"Idempotent-Replayed": "true"})
    r.step("POST", "/events", 404, {"event_type": "share", "url_id": 999999})
    r.step("POST", "/events", 400, "\"click\"")
    r.step("POST", "/events", 422, {"event_type": "share", "details": "not-an-object"})
    r.step("POST", "/events", 413, {"event_type": "e" * (1536 * 1024)})
    r.step("GET", "/events", 200)
    r.step("GET", "/events?url_id=$url&event_type=click&page=1&per_page=10", 200)
    r.step("GET", "/events?url_id=abc", 400)
    r.step("GET", "/events/$event", 200)
    r.step("GET", "/events/999999", 404)
    r.step("PUT", "/events/$event", 200, {"details": {"channel": "sms"}})
    r.step("PATCH", "/events/$event", 200, {"event_type": "shared"})
    r.step("PUT", "/events/$event", 400, "nope")
    r.step("PATCH", "/events/$event", 422, {"event_type": ""})
    r.step("PUT", "/events/$event", 404, {"url_id": 999999})
    r.step("PATCH", "/events/999999", 404, {"event_type": "x"})
    r.step("DELETE", "/events/$event", 204)
    r.step("DELETE", "/events/$event", 404)

    # The dashboard's live feed and System page
    sse_step(r)
    r.step("GET", "/dashboard/system", 200)

    # Deletes
    r.step("DELETE", "/urls/$url", 204)
    r.step("DELETE", "/urls/$url", 404)
    r.step("GET", "/$code", 404)
    r.step("DELETE", "/users/$bob", 204)
    r.step("DELETE", "/users/$bob", 404)

    # API keys (open mode: no key needed; the keys pass below checks 401 and 403)
    r.step("POST", "/api-keys", 201, {"name": "oa reader", "scopes": ["read"],
                                      "expires_at": "2099-01-01T00:00:00"}, capture={"key1": "id"})
    r.step("POST", "/api-keys", 201, {"name": "oa alice", "scopes": ["read", "write"],
                                      "user_id": r.vars.get("alice")})
    r.step("POST", "/api-keys", 422, {"name": "oa", "scopes": ["root"]})
    r.step("POST", "/api-keys", 400, "[]")
    r.step("POST", "/api-keys", 404, {"name": "oa", "scopes": ["read"], "user_id": 999999})
    r.step("GET", "/api-keys", 200)
    r.step("DELETE", "/api-keys/$key1", 204)
    r.step("DELETE", "/api-keys/$key1", 404)

    # redirect-svc's own /health has the same schema; /openapi.json is the file's bytes.
    r.step("GET", "/health", 200, base=r.redirect)
    r.step("GET", "/livez", 200, base=r.redirect)
    r.step("GET", "/readyz", 200, base=r.redirect)
    for base in (r.write, r.front):
        status, _, body = send("GET", base + "/openapi.json", {}, None)
        if status == 200 and body == r.spec.raw:
            r.passed += 1
        else:
            r.fail(f"GET {base}/openapi.json", [f"status {status}, {len(body)} bytes: "
                                                 f"not docs/openapi.json's {len(r.spec.raw)}"])


def scenario_keys(r, keys_write, admin):
    """API_AUTH=keys, straight at a write-svc in that mode: 401 and 403 as documented."""
    adm = {"Authorization": "Bearer " + admin}
    bearer = {"WWW-Authenticate": "Bearer"}
    r.step("GET", "/health", 200, base=keys_write)
    r.step("GET", "/openapi.json", 200, base=keys_write)
    r.step("GET", "/users", 401, base=keys_write, want=bearer)
    r.step("POST", "/urls", 401, {"original_url": "https://example.com/"}, base=keys_write,
           want=bearer)
    r.step("GET", "/api-keys", 401, base=keys_write, headers={"X-Api-Key": "sk_" + "A" * 43},
           want=bearer)
    r.step("GET", "/api-keys", 200, base=keys_write, headers=adm)
    reader = r.step("POST", "/api-keys", 201, {"name": "oa keys reader", "scopes": ["read"]},
                    base=keys_write, headers=adm, capture={"reader": "id"})
    rd = {"Authorization": "Bearer " + (reader or {}).get("key", "")}
    r.step("GET", "/users", 200, base=keys_write, headers=rd)
    r.step("POST", "/users", 403, {"username": "oa-k", "email": "k@example.com"},
           base=keys_write, headers=rd)
    r.step("DELETE", "/api-keys/$reader", 403, base=keys_write, headers=rd)
    r.step("DELETE", "/api-keys/$reader", 204, base=keys_write, headers=adm)
    r.step("GET", "/users", 401, base=keys_write, headers=rd, want=bearer)


def main():
    doc, front, write, redirect = sys.argv[1:5]
    r = Replay(Spec(doc), front, write, redirect)
    scenario(r)
    if len(sys.argv) > 6:
        scenario_keys(r, sys.argv[5], sys.argv[6])
        r.required = r.required + (401, 403)
    print("statuses validated per operation:")
    r.coverage()
    print(f"openapi: {r.passed} passed, {r.failed} failed, {r.skipped} skipped")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
