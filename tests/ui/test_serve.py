"""The UI server's socket: connections accepted by asyncio must have Nagle's algorithm off."""

from __future__ import annotations

import asyncio
import socket

from ui import serve


def _nodelay_of_accepted(listener: socket.socket) -> int:
    """Serve one connection with asyncio on `listener` (as uvicorn does) and report the TCP_NODELAY
    flag of the socket asyncio accepted."""
    seen: list[int] = []

    async def run() -> None:
        def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            seen.append(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connect, sock=listener)
        async with server:
            port = listener.getsockname()[1]
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            for _ in range(100):
                if seen:
                    break
                await asyncio.sleep(0.01)
            writer.close()

    asyncio.run(run())
    return seen[0]


def _listener() -> socket.socket:
    sock = socket.socket(family=socket.AF_INET)  # as Streamlit binds it: protocol 0
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    return sock


def test_a_protocol_zero_listener_leaves_nagle_on() -> None:
    """The upstream behaviour the wrapper exists for: asyncio skips TCP_NODELAY here."""
    assert _nodelay_of_accepted(_listener()) == 0


def test_rewrapped_listener_gives_connections_tcp_nodelay() -> None:
    sock = serve.with_tcp_protocol(_listener())
    assert sock.proto == socket.IPPROTO_TCP
    assert not sock.getblocking()
    assert _nodelay_of_accepted(sock) != 0


def test_streamlit_bind_is_wrapped() -> None:
    from streamlit.web.server.starlette import starlette_server

    original = starlette_server._bind_socket
    try:
        serve._patch_streamlit_bind()
        serve._patch_streamlit_bind()  # idempotent
        sock = starlette_server._bind_socket("127.0.0.1", 0, 8)
        try:
            assert sock.proto == socket.IPPROTO_TCP
            assert sock.getsockname()[0] == "127.0.0.1"
        finally:
            sock.close()
    finally:
        starlette_server._bind_socket = original


def test_stopping_ltvad_ui_stops_the_server(ui_store, tmp_path) -> None:
    """`ltvad ui` becomes the server process, so terminating the command a supervisor started
    leaves nothing listening behind it."""
    import sys
    import urllib.request

    from servers import free_port
    from servers import serve as run_server

    port = free_port()
    health = f"http://127.0.0.1:{port}/_stcore/health"
    cmd = [sys.executable, "-m", "ltvad_search.cli", "--set", f"store.root={ui_store}", "ui", "--port", str(port)]
    with run_server(cmd, health, tmp_path / "ui.log", timeout=60) as proc:
        pid = proc.pid
    assert proc.returncode is not None
    try:
        urllib.request.urlopen(health, timeout=2)
        answered = True
    except OSError:
        answered = False
    assert not answered, f"a server still answers on port {port} after `ltvad ui` (pid {pid}) was stopped"
