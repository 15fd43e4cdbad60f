"""A reverse proxy for the browser tests: ``/PREFIX/…`` on its port to a ``gradtui serve``.

It does what the README asks of nginx: plain requests and websockets under the prefix go
to the server with the prefix taken off; everything else is a 404, as a site's other
pages would be. aiohttp (a dependency of textual-serve) runs it on its own thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import ClientSession, WSMsgType, web

PASSED_HEADERS = ("content-type", "content-disposition", "retry-after")


def _app(prefix: str, upstream: int, seen: list[str]) -> web.Application:
    async def forward(request: web.Request) -> web.StreamResponse:
        seen.append(request.path_qs)
        if not request.path.startswith(f"/{prefix}/"):
            return web.Response(status=404, text="not the proxied app")
        rest = request.path_qs[len(prefix) + 1 :]
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await _websocket(request, f"ws://127.0.0.1:{upstream}{rest}")
        async with ClientSession() as session:
            async with session.request(
                request.method, f"http://127.0.0.1:{upstream}{rest}", data=await request.read()
            ) as answer:
                body = await answer.read()
                headers = {k: v for k, v in answer.headers.items() if k.lower() in PASSED_HEADERS}
                return web.Response(status=answer.status, body=body, headers=headers)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


async def _websocket(request: web.Request, url: str) -> web.WebSocketResponse:
    browser = web.WebSocketResponse()
    await browser.prepare(request)
    async with ClientSession() as session, session.ws_connect(url) as server:

        async def pipe(source, sink) -> None:  # noqa: ANN001
            async for message in source:
                if message.type == WSMsgType.TEXT:
                    await sink.send_str(message.data)
                elif message.type == WSMsgType.BINARY:
                    await sink.send_bytes(message.data)
                else:
                    break

        tasks = [
            asyncio.create_task(pipe(browser, server)),
            asyncio.create_task(pipe(server, browser)),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
    await browser.close()
    return browser


@contextmanager
def proxy(prefix: str, upstream: int, port: int) -> Iterator[list[str]]:
    """Run the proxy on ``port`` for the block; yields the paths it was asked for."""
    seen: list[str] = []
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(_app(prefix, upstream, seen))
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, name="test-proxy", daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
