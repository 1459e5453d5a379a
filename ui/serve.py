"""The UI server process: `python -m ui.serve run ui/app.py [streamlit options] -- [ltvad options]`.

`ltvad ui` starts this instead of `streamlit run` for two reasons, both about the first page view:
- the page imports and the candidate query run before the server accepts anyone, in the process that
  then serves (the cache lives there);
- Streamlit's uvicorn server binds its listening socket itself with protocol 0, so asyncio, which
  sets TCP_NODELAY only on sockets whose protocol is TCP, leaves Nagle's algorithm on for every
  connection. A response goes out as headers then body; on a reused keep-alive connection the body
  then waits for the browser's delayed ACK, 40 ms per static file, and a cold page load fetches over
  a hundred of them six at a time. Re-opening the bound socket from its descriptor lets the kernel
  report the real protocol, and accepted connections get TCP_NODELAY as asyncio intends.
"""

from __future__ import annotations

import functools
import socket
import sys
from collections.abc import Callable
from typing import Any


def with_tcp_protocol(sock: socket.socket) -> socket.socket:
    """The same listening socket, re-wrapped so that `sock.proto` (read back from the kernel) is TCP.

    Sockets accepted from it inherit that protocol, which is what asyncio checks before it sets
    TCP_NODELAY. Non-TCP sockets (Unix sockets) come back as they are.
    """
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.proto == socket.IPPROTO_TCP:
        return sock
    blocking, inheritable = sock.getblocking(), sock.get_inheritable()
    rewrapped = socket.socket(fileno=sock.detach())  # family, type and proto read from the descriptor
    rewrapped.setblocking(blocking)
    rewrapped.set_inheritable(inheritable)
    return rewrapped


def _patch_streamlit_bind() -> None:
    """Wrap Streamlit's socket binding with `with_tcp_protocol`; a Streamlit without that hook (an
    older Tornado one, or a future fixed one) is left alone."""
    try:
        from streamlit.web.server.starlette import starlette_server
    except ImportError:
        return
    bind: Callable[..., socket.socket] | None = getattr(starlette_server, "_bind_socket", None)
    if bind is None or getattr(bind, "_ltvad_tcp", False):
        return

    @functools.wraps(bind)
    def bind_tcp(*args: Any, **kwargs: Any) -> socket.socket:
        return with_tcp_protocol(bind(*args, **kwargs))

    bind_tcp._ltvad_tcp = True  # type: ignore[attr-defined]
    starlette_server._bind_socket = bind_tcp


def main() -> int:
    # What the pages import, imported now rather than on the first visitor's first rerun.
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow  # noqa: F401
    from streamlit.web.cli import main as streamlit_main

    import ltvad_search.evaluation.evaluate  # noqa: F401
    import ltvad_search.run.pipeline  # noqa: F401
    from ui import data, pages, state  # noqa: F401

    app_args = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    state.prewarm(app_args)
    _patch_streamlit_bind()
    sys.argv = ["streamlit", *sys.argv[1:]]
    try:
        streamlit_main()
    except SystemExit as e:
        return int(e.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
