#!/usr/bin/env python3
"""tests/system/barrage.py - a bad-input barrage (issue 11 item 7, docs/SECURITY.md).

    barrage.py --target nginx=http://127.0.0.1:P --target write=... --target redirect=...
               --target worker=... [--requests 12000] [--seed 11] [--workers 12]

Generates --requests hostile requests from a fixed seed (the same bytes on every run) and
sends each on its own connection (Connection: close), spread over the targets (half through
the front door, half straight at the services). Classes: mutated JSON on every write route,
wrong types, huge and deeply nested bodies, invalid UTF-8, NUL bytes, CR/LF in values, odd
methods, 64 KiB paths, garbage multipart and CSV uploads, hostile query strings, and garbage
at the protocol level (request lines and headers that are not HTTP).

Rules checked on every answer:
  * no status >= 500, and every answer within 5 s (a hang);
  * an error answer (>= 400) has a JSON body;
  * through the front door every request gets an answer; straight at a service only the
    "protocol" class may be closed without one.
Writes never touch existing rows (updates and deletes aim at ids that do not exist, bulk CSVs
have no id column, codes cannot exist); the last lines give the 201s of the creating routes
("created users N", "created urls N", "created events N", and "created bulk N", the rows bulk
imports counted: an upper bound of the users they added, as a mutated file may repeat a name)
for the caller's consistency check.
Exit status 0 when no rule was broken.
"""
import argparse
import json
import random
import socket
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

HANG_S = 5.0
BAD_UTF8 = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf8\x88\x80\x80\x80", b"\xe2\x82"]
NOID = "987654321"  # an id no row has: updates and deletes change nothing


class Req:
    __slots__ = ("cls", "raw", "creates", "target", "host")

    def __init__(self, cls, raw, creates=None):
        self.cls = cls
        self.raw = raw
        self.creates = creates  # "users", "urls", "events", "bulk" or None
        self.target = None
        self.host = None


def build(method, path, body=None, ctype=None, headers=()):
    if isinstance(method, str):
        method = method.encode()
    if isinstance(path, str):
        path = path.encode()
    lines = [method + b" " + path + b" HTTP/1.1", b"Host: barrage", b"Connection: close"]
    if ctype is not None:
        lines.append(b"Content-Type: " + (ctype.encode() if isinstance(ctype, str) else ctype))
    lines.extend(h if isinstance(h, bytes) else h.encode() for h in headers)
    if body is not None:
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.n = 0

    def uniq(self):
        self.n += 1
        return "bz%d" % self.n

    def weird_value(self):
        r = self.r
        return r.choice([None, True, False, 0, -1, 1.5, 2 ** 63, -2 ** 63, 1e308, "", " ", "\t",
                         "x" * r.choice([151, 255, 256, 2049, 5000]), [], {}, [1, [2, [3]]],
                         {"a": {"b": None}}, "a\u0000b", "a\r\nb", "\r\nSet-Cookie: x=1",
                         "\ud800", "ünïcødé", "<script>alert(1)</script>", "' OR 1=1 --",
                         "javascript:alert(1)", "http://", "https://exa mple.com",
                         "http://127.0.0.1:8080/x", "%00", "../../etc/passwd"])

    def template(self, route):
        u = self.uniq()
        if route in ("users", "users_put"):
            return {"username": u, "email": u + "@example.com"}
        if route in ("urls", "urls_put"):
            return {"user_id": 1, "original_url": "https://example.com/" + u, "title": u,
                    "is_active": True}
        return {"url_id": 1, "user_id": 1, "event_type": "bz_view", "details": {"k": u}}

    def json_body(self, route):
        r = self.r
        obj = self.template(route)
        for _ in range(r.randint(0, 3)):
            k = r.choice(list(obj.keys()) + ["extra", "short_code", "custom_alias",
                                              "expires_at", "redirect_type", "id"])
            obj[k] = self.weird_value()
        try:
            text = json.dumps(obj, ensure_ascii=r.random() < 0.5).encode("utf-8", "surrogatepass")
        except (TypeError, ValueError):
            text = b"{}"
        return self.mutate(text) if r.random() < 0.6 else text

    def mutate(self, b):
        r = self.r
        b = bytearray(b)
        for _ in range(r.randint(1, 4)):
            op = r.randrange(9)
            pos = r.randint(0, len(b))
            if op == 0 and b:
                b[min(pos, len(b) - 1)] = r.randrange(256)
            elif op == 1:
                del b[pos:pos + r.randint(1, 8)]
            elif op == 2:
                b[pos:pos] = bytes(r.randrange(256) for _ in range(r.randint(1, 8)))
            elif op == 3:
                b[pos:pos] = r.choice(BAD_UTF8)
            elif op == 4:
                b[pos:pos] = r.choice([b"\x00", b"\\u0000", b"\r\n", b"\\r\\n"])
            elif op == 5:
                b = b[:pos]
            elif op == 6:
                b[pos:pos] = r.choice([b"{", b"[", b"}", b"]", b",", b":", b'"', b"\\"])
            elif op == 7:
                b[pos:pos] = b[pos:pos + r.randint(1, 40)]
            else:
                b[pos:pos] = r.choice([b"null", b"true", b"1e999", b"-0", b"[]", b"{}"])
        return bytes(b)

    def deep_or_huge(self):
        r = self.r
        k = r.randrange(6)
        if k == 0:
            return b"[" * r.choice([1000, 100000, 600000])
        if k == 1:
            return b'{"a":' * r.choice([1000, 50000]) + b"1" + b"}" * 10
        if k == 2:
            return b'{"username":"' + b"a" * r.choice([1000, 900000]) + b'","email":"a@b.io"}'
        if k == 3:
            return b'{"x":"' + b"\\u0000" * 20000 + b'"}'
        if k == 4:
            return b"{" + b",".join(b'"k%d":%d' % (i, i) for i in range(r.choice([1000, 60000]))) + b"}"
        return b"x" * r.choice([1048577, 1200000])  # above the 1 MiB cap: 413

    def csv_body(self):
        r = self.r
        rows = ["username,email"]
        for _ in range(r.randint(0, 6)):
            u = self.uniq()
            rows.append("%s,%s@example.com" % (u, u))
        text = ("\r\n" if r.random() < 0.3 else "\n").join(rows).encode() + b"\n"
        return self.mutate(text) if r.random() < 0.7 else text

    def multipart(self, csv):
        r = self.r
        bnd = r.choice([b"b", b"----x", b"", b"\xff", b"a" * 100])
        body = (b"--" + bnd + b'\r\nContent-Disposition: form-data; name="file"; filename="u.csv"'
                b"\r\nContent-Type: text/csv\r\n\r\n" + csv + b"\r\n--" + bnd + b"--\r\n")
        if r.random() < 0.5:
            body = self.mutate(body)
        ctype = r.choice([b"multipart/form-data; boundary=" + bnd,
                          b'multipart/form-data; boundary="' + bnd + b'"', b"multipart/form-data",
                          b"multipart/mixed; boundary=" + bnd])
        return body, ctype

    def path(self):
        r = self.r
        k = r.randrange(10)
        if k == 0:
            return "/" + "a" * 65536
        if k == 1:
            return "/users/" + "9" * r.choice([19, 40, 1000])
        if k == 2:
            return "/%C3%28" + r.choice(["", "/x", "?a=b"])
        if k == 3:
            return r.choice(["/../../etc/passwd", "/%2e%2e/%2e%2e/", "//users", "/users/./1",
                             "/users/%2e%2e", "/a/../../b"])
        if k == 4:
            return "/" + urllib.parse.quote(bytes(r.randrange(1, 256) for _ in range(12)))
        if k == 5:
            return "/users?" + "&".join("p%d=%d" % (i, i) for i in range(r.choice([17, 500])))
        if k == 6:
            return r.choice(["/events?event_type=%FF", "/urls?user_id=%00", "/users?page=%ED%A0%80",
                             "/urls/" + NOID + "/stats?from=%C0&to=x&interval=%0d%0a",
                             "/urls/" + NOID + "/qr?size=%FF&format=%00", "/events?url_id=-1",
                             "/urls?is_active=%0D%0ASet-Cookie:x", "/users?per_page=1e9999"])
        if k == 7:
            return "/" + "".join(r.choice("abcXYZ019_-~.%") for _ in range(r.randint(1, 80)))
        if k == 8:
            return "/zz~" + str(r.randrange(10 ** 6))
        return r.choice(["/health", "/metrics", "/openapi.json", "/users/" + NOID, "/urls/" + NOID,
                         "/events/" + NOID, "/urls/" + NOID + "/events", "/dashboard/x"])

    def method(self):
        r = self.r
        return r.choice(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE",
                         "PROPFIND", "get", "FOO", "M" * 200, "CONNECT", "G\x01T", "BREW"])

    def one(self):
        r = self.r
        k = r.randrange(100)
        if k < 40:  # mutated JSON on every write route
            route, method, path, creates = r.choice([
                ("users", "POST", "/users", "users"), ("users_put", "PUT", "/users/" + NOID, None),
                ("users_put", "PATCH", "/users/" + NOID, None), ("urls", "POST", "/urls", "urls"),
                ("urls_put", "PUT", "/urls/" + NOID, None),
                ("urls_put", "PATCH", "/urls/" + NOID, None),
                ("events", "POST", "/events", "events"),
                ("events", "PUT", "/events/" + NOID, None),
                ("events", "PATCH", "/events/" + NOID, None)])
            ctype = r.choice(["application/json"] * 6 + ["text/plain", "application/json; charset=\xff",
                                                          None])
            return Req("json", build(method, path, self.json_body(route), ctype), creates)
        if k < 47:
            return Req("huge", build(r.choice(["POST", "PUT"]), r.choice(
                ["/users", "/urls", "/events", "/users/" + NOID, "/users/bulk"]),
                self.deep_or_huge(), "application/json"))
        if k < 57:
            csv = self.csv_body()
            if r.random() < 0.5:
                return Req("csv", build("POST", "/users/bulk", csv, r.choice(["text/csv", "text/csv; x"])),
                           "bulk")
            body, ctype = self.multipart(csv)
            return Req("multipart", build("POST", "/users/bulk", body, ctype), "bulk")
        if k < 75:
            return Req("path", build(self.method() if r.random() < 0.3 else "GET", self.path()))
        if k < 85:
            return Req("method", build(self.method(), self.path(), b"{}" if r.random() < 0.3 else None,
                                       "application/json"))
        if k < 93:
            hdr = r.choice(["X-Request-Id: " + "a" * 100, "X-Request-Id: a\x01b",
                            "Idempotency-Key: \xff\xfe", "Content-Type: \x00", "Referer: \xc3\x28",
                            "User-Agent: " + "u" * 7000, "Expect: 100-continue",
                            "Transfer-Encoding: gzip", "Content-Length: 73400320",
                            "Content-Length: -1", "X-Forwarded-For: ::::, 999.1.1.1"])
            return Req("header", build(r.choice(["GET", "POST"]), r.choice(["/users", "/zz~1", "/health"]),
                                       None, None, [hdr.encode("latin-1")]))
        garbage = r.choice([
            b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", b"\x16\x03\x01\x00\xa5\x01\r\n\r\n",
            b"GET /\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\nfoo\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 20000 + b"\r\n\r\n",
            b"POST /users HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
            b"POST /users HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
            bytes(r.randrange(256) for _ in range(64)) + b"\r\n\r\n",
            b"GET /a b c HTTP/1.1\r\nHost: x\r\n\r\n", b"\r\nGARBAGE\r\n\r\n"])
        return Req("protocol", garbage)


def exchange(req):
    """Sends req; returns (status or None, headers dict, body, seconds)."""
    t0 = time.monotonic()
    deadline = t0 + HANG_S
    data = b""
    try:
        s = socket.create_connection(req.host, timeout=HANG_S)
    except OSError as e:
        return ("connect", {}, str(e).encode(), time.monotonic() - t0)
    try:
        try:
            s.sendall(req.raw)
        except OSError:
            pass  # answered early (413) and closed: read what was answered
        while time.monotonic() < deadline and not complete(data):
            s.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                d = s.recv(65536)
            except (socket.timeout, OSError):
                break
            if not d:
                break
            data += d
    finally:
        s.close()
    took = time.monotonic() - t0
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = None
    if lines and lines[0].startswith(b"HTTP/1."):
        try:
            status = int(lines[0].split()[1])
        except (IndexError, ValueError):
            status = None
    headers = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(b":")
        headers[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    if "chunked" in headers.get("transfer-encoding", ""):
        body = dechunk(body)
    return (status, headers, body, took)


def complete(data):
    """True once data holds a whole answer framed by Content-Length or chunked encoding."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    low = head.lower()
    if b"transfer-encoding: chunked" in low:
        return body.endswith(b"0\r\n\r\n")
    for ln in low.split(b"\r\n"):
        if ln.startswith(b"content-length:"):
            try:
                return len(body) >= int(ln.split(b":", 1)[1])
            except ValueError:
                return False
    return low.startswith(b"http/1.1 204") or low.startswith(b"http/1.1 304")


def dechunk(b):
    out = b""
    while b:
        size, _, rest = b.partition(b"\r\n")
        try:
            n = int(size.split(b";")[0], 16)
        except ValueError:
            return out
        if n == 0:
            break
        out += rest[:n]
        b = rest[n + 2:]
    return out


def is_json(body):
    try:
        json.loads(body.decode("utf-8"))
        return True
    except (UnicodeDecodeError, ValueError):
        return False


def judge(req, res):
    """A list of broken rules (strings) for one exchange, and the exception it used."""
    status, headers, body, took = res
    direct = req.target != "nginx"
    line = req.raw.split(b"\r\n", 1)[0]
    if direct and line.count(b"&") >= 64:
        # libmicrohttpd stores each query argument in the connection's pool: hundreds of them
        # exhaust it and it closes, or stalls until HTTP_TIMEOUT_S (H6); nginx refuses them.
        return [], "args"
    if status == "connect":
        return ["cannot connect: %s" % body.decode()], None
    if took >= HANG_S:
        return ["no answer within %.0f s" % HANG_S], None
    if status is None:
        if direct:
            return [], "closed"
        if req.raw.startswith(b"GET /\r\n"):
            return [], "http/0.9"
        return ["closed without an answer"], None
    if direct and "x-request-id" not in headers:
        # libmicrohttpd's own refusal before our code ran (H6): a 4xx, or 505 for a version.
        if status >= 500 and not (status == 505 and req.cls == "protocol"):
            return ["libmicrohttpd answered %d" % status], None
        return [], "mhd"
    errs = []
    if status >= 500:
        errs.append("status %d" % status)
    if status >= 400 and not is_json(body) and req.raw[:5] != b"HEAD ":
        errs.append("error body is not JSON (%d, %r)" % (status, body[:60]))
    return errs, None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", action="append", required=True)
    ap.add_argument("--requests", type=int, default=12000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--workers", type=int, default=12)
    a = ap.parse_args()
    targets = []
    for t in a.target:
        name, _, url = t.partition("=")
        u = urllib.parse.urlsplit(url)
        targets.append((name, (u.hostname, u.port)))
    gen = Gen(a.seed)
    reqs = []
    for i in range(a.requests):
        q = gen.one()
        # Half through the front door, the rest spread over the services.
        name, host = targets[0] if i % 2 == 0 else targets[1 + (i // 2) % (len(targets) - 1)]
        q.target, q.host = name, host
        reqs.append(q)
    t0 = time.monotonic()
    with ThreadPoolExecutor(a.workers) as ex:
        results = list(ex.map(exchange, reqs))
    took = time.monotonic() - t0
    failures, exceptions, statuses, slowest, byclass = [], {}, {}, 0.0, {}
    created = {"users": 0, "urls": 0, "events": 0, "bulk": 0}
    for q, res in zip(reqs, results):
        errs, exc = judge(q, res)
        slowest = max(slowest, res[3])
        key = "%s %s" % (q.target, res[0])
        statuses[key] = statuses.get(key, 0) + 1
        if exc:
            exceptions[exc] = exceptions.get(exc, 0) + 1
            byclass[exc + " " + q.cls] = byclass.get(exc + " " + q.cls, 0) + 1
        for e in errs:
            failures.append("%s [%s] %s: %r" % (q.target, q.cls, e, q.raw[:120]))
        if res[0] == 201 and q.creates in ("users", "urls", "events"):
            created[q.creates] += 1
        elif res[0] == 201 and q.creates == "bulk":
            try:
                created["bulk"] += json.loads(res[2])["imported"]
            except (ValueError, KeyError):
                failures.append("bulk 201 without a count: %r" % res[2][:80])
    print("barrage: %d requests in %.1f s (seed %d), slowest %.2f s" % (len(reqs), took, a.seed,
                                                                       slowest))
    for k in sorted(statuses):
        print("  %-16s %d" % (k, statuses[k]))
    for k, v in sorted(exceptions.items()):
        print("  exception %s: %d (%s)" % (k, v, {
            "mhd": "libmicrohttpd's own refusal before our code ran, its fixed text (H6)",
            "closed": "a service's libmicrohttpd closed without an answer (H6)",
            "args": "hundreds of query arguments straight at a service (H6)",
            "http/0.9": "nginx answered an HTTP/0.9 request without a status line"}[k]))
    print("  exceptions by class: " + ", ".join("%s %d" % kv for kv in sorted(byclass.items())))
    for f in failures[:25]:
        print("  FAIL " + f)
    print("broken rules: %d" % len(failures))
    for k in ("users", "urls", "events", "bulk"):
        print("created %s %d" % (k, created[k]))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
