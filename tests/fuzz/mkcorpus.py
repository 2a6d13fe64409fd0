#!/usr/bin/env python3
"""tests/fuzz/mkcorpus.py - (re)writes the seed corpora of tests/fuzz/corpus/<target>/.

    tests/fuzz/mkcorpus.py        from the repository root or anywhere

The seeds are hand-picked valid and invalid inputs of each parser, in the input format its
target's comment describes (tests/fuzz/fuzz_<target>.c). Each file is named by the SHA-1 of
its bytes, as libFuzzer names the inputs it keeps, so rerunning adds nothing twice.
Inputs libFuzzer finds later (make fuzz, build-fuzz/new-corpus/) may be copied in as well.
"""
import hashlib
import os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

# Route indexes of fuzz_dispatch.c's table.
R = {"POST /users": 0, "PUT /users/1": 1, "PATCH /users/1": 2, "POST /users/bulk": 3,
     "POST /urls": 4, "PUT /urls/1": 5, "PATCH /urls/1": 6, "POST /events": 7,
     "PUT /events/1": 8, "PATCH /events/1": 9, "GET /users": 10, "GET /urls": 11,
     "GET /events": 12, "GET /urls/1/stats": 13, "GET /urls/1/qr": 14,
     "GET /urls/1/events": 15, "DELETE /urls/1": 16, "GET /openapi.json": 17, "PATH": 18}
CT = {"json": 0, "csv": 1, "multipart": 2, "none": 3, "text": 4}

CSV = [
    b"id,username,email,created_at\n1,alice01,alice01@example.com,2025-01-02 03:04:05\n"
    b"2,bob22,bob22@acme.dev,2025-09-19 22:25:05\n",
    b"username,email\r\n\"q\"\"uoted\",\"a,b@x.io\"\r\nx,\n,y@x.io\n",
    b"username,email\nbad name,b@x.io\n",
    b"username,email\nok,not-an-email\n",
    b"username,email,note\nok,ok@x.io,caf\xc3\n",
    b"username,email\n\"broken,x@example.com\n",
    b"\xff\xfe,email\n",
    b"username,email\n" + b"a," * 40 + b"\n",
    b"",
    b"\n\n\n",
]

MULTIPART = [
    b"multipart/form-data; boundary=b\n--b\r\nContent-Disposition: form-data; name=\"file\"; "
    b"filename=\"u.csv\"\r\nContent-Type: text/csv\r\n\r\nusername,email\nx,x@x.io\n\r\n--b--\r\n",
    b"multipart/form-data; boundary=\"quoted b\"\n--quoted b\r\nContent-Disposition: form-data; "
    b"name=file\r\n\r\nabc\r\n--quoted b--",
    b"multipart/form-data\n--b\r\n\r\n",
    b"multipart/form-data; boundary=\n----\r\n",
    b"text/plain; boundary=b\n--b\r\n",
    b"multipart/form-data; boundary=b\n--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1"
    b"\r\n--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n\r\n--b--\r\n",
]

JSON = [b'{"a" : 1, "b" : [1, 2, {"c" : "x y"}]}', b' [ ] ', b'"\\" \\\\ "', b'{"a":"\\u00e9"}',
        b'{ "unterminated : 1', b'\n\t {"k"\r\n:\r\nnull}', b'[' * 100, b'1e400',
        b'"\xc3\xa9 \xff"']

ROUTER = [b"\x00/users", b"\x00/users/12", b"\x02/users/bulk", b"\x03/urls/1/", b"\x05/events/99",
          b"\x00/urls/1/stats", b"\x00//users", b"\x00/users/01", b"\x00/users/99999999999999999999",
          b"\x06/", b"\x01/health", b"\x00/urls/1/qr/x", b"\x00/" + b"a/" * 50]


def entry(shard, eid, fields):
    return bytes([shard]) + b"\0" + eid + b"\0" + b"\0".join(fields)


GOOD = [b"id", b"42", b"uid", b"7", b"code", b"abc123", b"url", b"https://e.com/x", b"ts",
        b"1763900000000", b"ref", b"", b"ua", b"curl"]
ENTRY = [entry(14, b"1-0", GOOD), entry(8, b"1-1", GOOD[:6]),
         entry(14, b"2-0", GOOD[:12] + [b"ua", b"Mozilla \xff\xfe"]),
         entry(14, b"3-0", [b"id", b"-1"] + GOOD[2:]), entry(16, b"4-0", []),
         entry(12, b"5-0", [b"id", b"99999999999999999999"] + GOOD[2:12])]

CONFIG = [b"8080\0true\0abc\0http://x\0debug\0redis://:pw@h:1",
          b"-1\0maybe\0\0nourl\0loud\0", b"99999999999999999999\0\0" + b"s" * 40 + b"\0\0\0",
          b"0x10\0ON\0x\0postgresql://u:p@h/db?password=x\0warn\0postgresql://u:secret@h/d"]

VALIDATE = [b"1\n20\nalice_01", b"-5\n1000\nuser@example.com", b"abc\n\nhttps://example.com/a?b=c",
            b"\n\n2026-01-02T03:04:05", b"99999999999999999999\n-1\n123", b"\n\ntrue",
            b"\n\nhttp://[::1]:8080/x", b"\n\n\xed\xa0\x80\xc0\xaf", b"\n\nab", b"\n\n" + b"a" * 300,
            b"\n\n2025-02-30T00:00:00", b"\n\nhealth"]

QR = [b"png\n256\n4\nhttp://127.0.0.1:8080/abc123", b"svg\n32\n0\nx", b"gif\n-1\n99\n",
      b"\n\n\nhttps://example.com", b"png\n2048\n16\n" + b"a" * 64, b"svg\n0032\n\nz"]

DISPATCH = []


def d(route, ct, path=b"", query=b"", body=b""):
    DISPATCH.append(bytes([R[route], CT[ct]]) + path + b"\n" + query + b"\n" + body)


d("POST /users", "json", body=b'{"username":"alice","email":"alice@example.com"}')
d("POST /users", "json", body=b'{"username":"","email":5}')
d("POST /users", "json", body=b'{"username":"a\\u0000b","email":"x@y.z"}')
d("POST /users", "json", body=b'[' * 5000)
d("PUT /users/1", "json", body=b'{"email":"new@example.com"}')
d("PATCH /users/1", "json", body=b'null')
d("POST /users/bulk", "csv", body=CSV[0])
d("POST /users/bulk", "multipart", body=MULTIPART[0].split(b"\n", 1)[1])
d("POST /users/bulk", "csv", body=CSV[4])
d("POST /urls", "json", body=b'{"user_id":1,"original_url":"https://example.com/x","title":"t"}')
d("POST /urls", "json", body=b'{"user_id":1,"original_url":"https://e.com","custom_alias":"my-alias",'
  b'"expires_at":"2030-01-01T00:00:00","redirect_type":301}')
d("POST /urls", "json", body=b'{"user_id":true,"original_url":"javascript:alert(1)"}')
d("PUT /urls/1", "json", body=b'{"is_active":false,"title":null,"short_code":"abc"}')
d("PATCH /urls/1", "json", body=b'{"original_url":"http://\xff"}')
d("POST /events", "json", body=b'{"url_id":1,"user_id":1,"event_type":"click","details":{"a":1}}')
d("POST /events", "json", body=b'{"url_id":1.5,"event_type":"","details":"x"}')
d("PUT /events/1", "json", body=b'{"details":[]}')
d("PATCH /events/1", "text", body=b'{"event_type":"x"}')
d("GET /users", "none", query=b"page=2&per_page=5")
d("GET /users", "none", query=b"page=%00&per_page=-")
d("GET /urls", "none", query=b"user_id=1&is_active=true")
d("GET /urls", "none", query=b"user_id=abc&is_active=maybe")
d("GET /events", "none", query=b"event_type=click&url_id=1&user_id=\xc3\x28")
d("GET /urls/1/stats", "none", query=b"from=2026-01-01T00:00:00&to=2026-01-02T00:00:00&interval=hour")
d("GET /urls/1/stats", "none", query=b"from=2026-13-01&interval=week")
d("GET /urls/1/qr", "none", query=b"format=svg&size=64&margin=2")
d("GET /urls/1/qr", "none", query=b"format=bmp&size=99999")
d("GET /urls/1/events", "none", query=b"page=1")
d("DELETE /urls/1", "none")
d("GET /openapi.json", "none")
d("PATH", "json", path=b"/users/1/../2", body=b"{}")
d("PATH", "none", path=b"/urls/\xff")
d("PATH", "none", path=b"/" + b"a" * 1000)

KVSLOT = [
    b"MOVED 3999 127.0.0.1:6381\n*2\r\n*3\r\n:0\r\n:5460\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n"
    b"$2\r\nid\r\n*4\r\n:5461\r\n:16383\r\n*2\r\n$0\r\n\r\n:7001\r\n*2\r\n$1\r\nh\r\n:7004\r\n",
    b"ASK 16383 ::1:7002\n*1\r\n*3\r\n:5\r\n:4\r\n*2\r\n$1\r\nh\r\n:1\r\n",
    b"MOVED 16384 h:1\n*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\n?\r\n:65535\r\n",
    b"TRYAGAIN Multiple keys request during rehashing of slot\n+OK\r\n",
    b"CLUSTERDOWN The cluster is down\n-ERR x\r\n",
    b"url:{7}:WqxP6K\n*1\r\n*2\r\n:0\r\n:1\r\n",
    b"foo{}{bar}\n*0\r\n",
]


def write(target, inputs):
    path = os.path.join(ROOT, target)
    os.makedirs(path, exist_ok=True)
    for data in inputs:
        name = hashlib.sha1(data).hexdigest()
        with open(os.path.join(path, name), "wb") as f:
            f.write(data)


write("csv", CSV)
write("multipart", MULTIPART)
write("jcompact", JSON)
write("router", ROUTER)
write("entry", ENTRY)
write("config", CONFIG)
write("validate", VALIDATE)
write("qr", QR)
write("dispatch", DISPATCH)
write("kvslot", KVSLOT)
