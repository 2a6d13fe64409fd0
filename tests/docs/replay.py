#!/usr/bin/env python3
"""Replays the examples of docs/API.md against a running stack and checks the answers.

    replay.py [--record] DOC WRITE_URL REDIRECT_URL

An example is a ```request block followed by a ```response block:

    ```request
    POST /users                       <- method and path; $name is replaced by the value
    Content-Type: text/csv               of "name" in the latest JSON response holding it
                                      <- optional headers, a blank line, then the body
    {"username": "alice"}
    ```
    ```response
    201                               <- the status
    Location: https://example.com/    <- optional headers that must match exactly
                                      <- a blank line, then the JSON body (optional)
    {"id": 1, "username": "alice"}
    ```

Requests go to REDIRECT_URL when they are GET/HEAD of one path segment that is not an API
name (as nginx routes them), else to WRITE_URL. A JSON body must have the same shape as the
documented one: the same keys, the same types, the same array lengths (a last element "..."
allows more), and the same values, except for keys whose values change from run to run
(timestamps, generated short codes, the client's user agent) whose format alone is checked. Every
JSON answer must also be compact (no whitespace between tokens), whatever the document shows.
A response block with no body checks only the status and the headers it lists: that is how
binary answers (QR code images) are documented.
--record prints what the stack answered instead of checking, for writing the document.
Prints "docs: N passed, N failed"; exits 1 on any failure.
"""
import json
import re
import sys
import urllib.error
import urllib.request

API_NAMES = {"health", "livez", "readyz", "metrics", "users", "urls", "events", "dashboard"}
VOLATILE = {
    "created_at": re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$"),
    "updated_at": re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$"),
    "timestamp": re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$"),
    "last_visited": re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$"),
    "short_code": re.compile(r"^[A-Za-z0-9]{6}$"),
    "user_agent": re.compile(r"^.+$"),
    "visitor": re.compile(r"^[0-9a-f]{32}$"),  # a salted hash: the salt changes every day
    # GET /urls/<id>/stats: the range and its buckets follow the clock.
    "t": re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$"),
    "from": re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$"),
    "to": re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$"),
}


def blocks(text):
    """Yields (kind, lines, line_number) for every ```request / ```response block."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```(request|response)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start = i + 1
        j = start
        while j < len(lines) and lines[j] != "```":
            j += 1
        yield m.group(1), lines[start:j], start
        i = j + 1


def split_head(lines):
    """First line, header dict, body text (after the first blank line)."""
    first = lines[0].strip()
    headers, body, k = {}, "", 1
    while k < len(lines) and lines[k].strip():
        name, _, value = lines[k].partition(":")
        headers[name.strip()] = value.strip()
        k += 1
    if k < len(lines):
        body = "\n".join(lines[k + 1:]).strip()
    return first, headers, body


def substitute(s, vars_):
    return re.sub(r"\$([a-z_]+)", lambda m: str(vars_.get(m.group(1), m.group(0))), s)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def send(method, url, headers, body):
    data = body.encode() if body else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with OPENER.open(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode(errors="replace")


def same_shape(doc, got, path, key=None):
    """Returns a list of differences between the documented and the actual value."""
    # A generated code changes from run to run; an alias (any other documented value) does not.
    generated = key != "short_code" or (isinstance(doc, str) and VOLATILE[key].match(doc))
    if key in VOLATILE and isinstance(doc, str) and generated:
        ok = isinstance(got, str) and VOLATILE[key].match(got)
        return [] if ok else [f"{path}: {got!r} does not look like a {key}"]
    if isinstance(doc, dict):
        if not isinstance(got, dict):
            return [f"{path}: expected an object, got {got!r}"]
        diffs = []
        if set(doc) != set(got):
            diffs.append(f"{path}: keys {sorted(got)} instead of {sorted(doc)}")
        for k in doc:
            if k in got:
                diffs += same_shape(doc[k], got[k], f"{path}.{k}", k)
        return diffs
    if isinstance(doc, list):
        if not isinstance(got, list):
            return [f"{path}: expected an array, got {got!r}"]
        more = bool(doc) and doc[-1] == "..."
        items = doc[:-1] if more else doc
        if len(got) < len(items) or (not more and len(got) != len(items)):
            return [f"{path}: {len(got)} elements instead of {len(items)}"]
        diffs = []
        for i, d in enumerate(items):
            diffs += same_shape(d, got[i], f"{path}[{i}]")
        return diffs
    if type(doc) is not type(got) or doc != got:
        return [f"{path}: {got!r} instead of {doc!r}"]
    return []


def is_compact(text):
    """True when text has no whitespace outside JSON strings ({"id":1,"a":"b c"})."""
    in_str = esc = False
    for c in text:
        if in_str:
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c in " \t\r\n":
            return False
        else:
            in_str = c == '"'
    return True


def main():
    record = "--record" in sys.argv
    args = [a for a in sys.argv[1:] if a != "--record"]
    doc_path, write_url, redirect_url = args
    text = open(doc_path, encoding="utf-8").read()
    vars_, pending, passed, failed = {}, None, 0, 0
    for kind, lines, lineno in blocks(text):
        if kind == "request":
            first, headers, body = split_head(lines)
            method, _, path = first.partition(" ")
            path = substitute(path, vars_)
            seg = path.strip("/")
            to_redirect = method in ("GET", "HEAD") and seg and "/" not in seg and \
                seg.split("?")[0] not in API_NAMES
            base = redirect_url if to_redirect else write_url
            pending = (lineno, method, path, send(method, base + path, headers,
                                                  substitute(body, vars_)))
            continue
        if pending is None:
            print(f"line {lineno}: response without a request")
            failed += 1
            continue
        req_line, method, path, (status, got_headers, got_body) = pending
        pending = None
        got_json = None
        try:
            got_json = json.loads(got_body) if got_body else None
        except ValueError:
            pass
        if isinstance(got_json, dict):
            vars_.update({k: v for k, v in got_json.items() if isinstance(v, (str, int))})
        if record:
            print(f"--- {method} {path} (line {req_line})\n{status}")
            if "Location" in got_headers:
                print(f"Location: {got_headers['Location']}")
            if got_json is None and got_body:
                print(f"Content-Type: {got_headers.get('Content-Type')} ({len(got_body)} chars)")
            else:
                print(got_body)
            continue
        first, want_headers, want_body = split_head(lines)
        diffs = [] if int(first) == status else [f"status {status} instead of {first}"]
        for name, value in want_headers.items():
            value = substitute(value, vars_)
            if got_headers.get(name) != value:
                diffs.append(f"header {name}: {got_headers.get(name)!r} instead of {value!r}")
        if got_json is not None and not is_compact(got_body):
            diffs.append(f"the JSON body is not compact: {got_body[:200]!r}")
        if want_body:
            try:
                diffs += same_shape(json.loads(want_body), got_json, "body")
            except ValueError as e:
                diffs.append(f"the documented body is not JSON: {e}")
        if diffs:
            failed += 1
            print(f"FAIL {method} {path} (docs/API.md line {req_line}):")
            for d in diffs:
                print(f"    {d}")
        else:
            passed += 1
    print(f"docs: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
