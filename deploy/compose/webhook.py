#!/usr/bin/env python3
"""deploy/compose/webhook.py - a stand-in webhook receiver for Alertmanager.

docker compose runs it as the "webhook" service on :9000. Every notification POSTed to any path
becomes one JSON line per alert on stdout (`docker compose logs -f webhook`): status, alert
name, severity, job, instance, summary, runbook_url. GET answers 200 (its health check).
Replace it with a real receiver (paging, chat) in deploy/alertmanager/alertmanager.yml.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 1 << 20


class Handler(BaseHTTPRequestHandler):
    """Prints alerts; answers 200 to any GET or POST."""

    def do_GET(self):
        self._reply(200, b'{"status":"ok"}\n')

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, MAX_BODY))
        try:
            doc = json.loads(body or b"{}")
        except ValueError:
            print(json.dumps({"error": "not JSON", "bytes": len(body)}), flush=True)
            self._reply(400, b'{"error":"not JSON"}\n')
            return
        for alert in doc.get("alerts", []):
            labels = alert.get("labels", {})
            notes = alert.get("annotations", {})
            print(json.dumps({
                "status": alert.get("status"),
                "alertname": labels.get("alertname"),
                "severity": labels.get("severity"),
                "job": labels.get("job"),
                "instance": labels.get("instance"),
                "startsAt": alert.get("startsAt"),
                "summary": notes.get("summary"),
                "runbook_url": notes.get("runbook_url"),
            }), flush=True)
        self._reply(200, b'{"status":"ok"}\n')

    def _reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        """Silences the per-request log line; alerts are printed by do_POST."""


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
