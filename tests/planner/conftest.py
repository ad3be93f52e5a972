"""A real chat-completions server on 127.0.0.1 that answers from a script, for the LLM planner."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Reply:
    content: str = ""
    status: int = 200
    delay_s: float = 0.0  # sleep before answering (longer than the client's timeout: a timeout)
    headers: dict[str, str] = field(default_factory=dict)
    error: str = "scripted error"


class ScriptedLLM:
    """Speaks POST /v1/chat/completions; each request takes the next scripted reply."""

    def __init__(self) -> None:
        self.script: deque[Reply] = deque()
        self.requests: list[dict] = []  # JSON bodies received, in order
        self.auth: list[str] = []  # Authorization headers received
        llm = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                llm.requests.append(body)
                llm.auth.append(self.headers.get("Authorization", ""))
                if not self.path.endswith("/chat/completions"):
                    return self.answer(Reply(status=404, error=f"no route {self.path}"), body)
                reply = (
                    llm.script.popleft()
                    if llm.script
                    else Reply(status=500, error="script ran out")
                )
                time.sleep(reply.delay_s)
                self.answer(reply, body)

            def answer(self, reply: Reply, body: dict) -> None:
                if reply.status == 200:
                    payload = {
                        "id": "chatcmpl-test",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body.get("model", ""),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": reply.content},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }
                else:
                    payload = {"error": {"message": reply.error, "type": "test", "code": None}}
                data = json.dumps(payload).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and hung up: that was the point

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def reply(self, content: str = "", **kw) -> None:
        self.script.append(Reply(content, **kw))

    def reply_json(self, data: dict, **kw) -> None:
        self.reply(json.dumps(data), **kw)


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    server = ScriptedLLM()
    thread = threading.Thread(target=server.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
