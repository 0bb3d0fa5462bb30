"""A minimal OpenAI-compatible chat server for tests: it speaks the real wire protocol
(POST /v1/chat/completions, GET /v1/models) and replies from a script.

Run: python tests/openai_stub_server.py SCRIPT.json LOG.jsonl
SCRIPT.json is a list of replies served in order, each {"tool": NAME, "arguments": {...}}
or {"text": "..."}; when the script runs out it answers "ok". Every request body is
appended to LOG.jsonl so tests can check what the client sent. The chosen port is
printed on the first line of stdout.
"""

import json
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCRIPT = json.load(open(sys.argv[1]))
LOG = sys.argv[2]
API_KEY = sys.argv[3] if len(sys.argv) > 3 else None


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self) -> bool:
        if API_KEY and self.headers.get("Authorization") != f"Bearer {API_KEY}":
            self._send(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}})
            return False
        return True

    def do_GET(self):
        if self.path.rstrip("/") == "/v1/models" and self._authorised():
            self._send(200, {"object": "list", "data": [{"id": "stub-model", "object": "model", "owned_by": "tests"}]})

    def do_POST(self):
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, {"error": {"message": "not found"}})
            return
        if not self._authorised():
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with open(LOG, "a") as fh:
            fh.write(json.dumps(body) + "\n")
        reply = SCRIPT.pop(0) if SCRIPT else {"text": "ok"}
        if "tool" in reply:
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [{
                    "id": f"call_{uuid.uuid4().hex[:8]}",
                    "type": "function",
                    "function": {"name": reply["tool"], "arguments": json.dumps(reply["arguments"])},
                }],
            }
            finish = "tool_calls"
        else:
            message = {"role": "assistant", "content": reply["text"]}
            finish = "stop"
        self._send(200, {
            "id": f"chatcmpl-{uuid.uuid4().hex[:8]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "stub-model"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        })


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
