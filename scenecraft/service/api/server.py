"""The API under uvicorn, with deadlines for clients that send a request slowly.

uvicorn has no timeout for a request that arrives slowly: its keep-alive timer is not armed on a
fresh connection and restarts at every byte, so a client sending one header line every 2 s held
a connection for as long as it liked, and one that declared a body it never sent held a request
open until it went away. Two deadlines (service settings): the headers of each request must
arrive within ``header_timeout_s`` (else the connection is closed), and its body within
``body_timeout_s`` of the headers (else ``408`` and the connection is closed). A reverse proxy
with its own limits belongs in front of the API in production all the same (docs/service.md).
"""

from __future__ import annotations

import asyncio

import h11
import uvicorn
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from scenecraft.service.worker.config import ServiceSettings


def uvicorn_config(
    app: ASGIApp, host: str, port: int, svc: ServiceSettings, log_level: str = "info"
) -> uvicorn.Config:
    """uvicorn's settings for the API: h11 with the header deadline."""
    protocol = type("HeaderDeadlineH11", (_HeaderDeadline,), {"timeout_s": svc.header_timeout_s})
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, http=protocol)


class _HeaderDeadline(H11Protocol):
    """h11 that closes a connection whose next request's headers are not all in within
    ``timeout_s`` of the connection opening or the previous response ending."""

    timeout_s: float = 10.0
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # a request's headers are in
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # may start on a pipelined request already received
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self._arm()

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.timeout_s, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


class BodyDeadline:
    """ASGI middleware: a request's body must be in within ``timeout_s`` of its headers.

    Past that the client gets ``408`` (with ``Connection: close``, so the server drops the
    connection) and the app reads a disconnect; whatever the app answers then is not sent."""

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app, self.timeout_s = app, timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        body_in = started = timed_out = False

        async def timed_receive() -> Message:
            nonlocal body_in, timed_out
            if body_in:  # later reads wait for a disconnect (event streams): no deadline
                return await receive()
            if timed_out:
                return {"type": "http.disconnect"}
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                timed_out = True
                if not started:
                    detail = f"the request body did not arrive within {self.timeout_s:g} s"
                    late = JSONResponse(
                        {"detail": detail, "errors": []}, 408, headers={"Connection": "close"}
                    )
                    await late(scope, receive, send)
                return {"type": "http.disconnect"}
            body_in = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if timed_out and not started:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, timed_receive, tracked_send)
