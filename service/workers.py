"""``blueprint serve --workers N``: uvicorn's worker supervisor, each worker on its own socket.

uvicorn's own multi-worker mode binds one listening socket in the supervisor and hands it
to every worker. On Linux each worker's event loop then accepts *every* connection waiting
when it wakes (asyncio accepts in a loop up to the backlog), so a burst of keep-alive
clients all land on the first worker to wake: measured with 32 clients on 2 workers, one
worker served all 32 connections and the other stayed idle (0 CPU seconds), and
``--workers 2`` was no faster than 1 (docs/benchmarks-http.md).

Here each worker opens its own listening socket on the same address with ``SO_REUSEPORT``,
and the kernel spreads new connections over the workers' sockets (by a hash of the
connection's addresses and ports). The supervisor keeps one bound socket (also
``SO_REUSEPORT``, not listening) so that the port stays ours while a worker restarts.
Everything else is uvicorn's supervisor unchanged: health checks, restarting a worker
that died, stopping on SIGINT/SIGTERM. Two differences from a shared socket: a
connection is only accepted by the worker whose socket it was hashed to (one slow worker
keeps its own queue), and connections still queued, not yet accepted, on a worker that
dies are reset. Where ``SO_REUSEPORT`` is missing (not Linux/BSD) this is uvicorn's
shared socket (:func:`run`).
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
from types import FrameType
from typing import Any

from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.server import Server
from uvicorn.supervisors import multiprocess

logger = logging.getLogger("uvicorn.error")


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` with ``SO_REUSEADDR`` and ``SO_REUSEPORT``
    (not listening yet), inheritable by the worker processes."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class OwnSocketWorker(multiprocess.Process):
    """A uvicorn worker process that listens on a socket of its own (``SO_REUSEPORT``)
    instead of the supervisor's; runs in the worker process."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover
        """Open this worker's own socket on the configured address, then serve on it."""
        for inherited in sockets or []:  # the supervisor's placeholder: never listened on
            inherited.close()
        super().target([reuse_port_socket(self.config.host, self.config.port)])


class OwnSocketSupervisor(multiprocess.Multiprocess):
    """uvicorn's supervisor, starting (and restarting) :class:`OwnSocketWorker` workers."""

    def run(self) -> None:
        """Run uvicorn's supervisor loop, with every worker it starts on its own socket."""
        # uvicorn's supervisor names its worker class as a module global when it starts or
        # replaces a worker; this process is the supervisor and nothing else.
        multiprocess.Process = OwnSocketWorker  # type: ignore[misc]
        super().run()


class CleanStopServer(Server):
    """uvicorn's server, except that a SIGTERM, once it has shut the server down cleanly,
    lets the process end with status 0. uvicorn re-raises a signal it caught after the
    shutdown, so that one worker exited -15 where the supervisor of two exits 0; SIGINT
    (Ctrl+C) is left as uvicorn handles it."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Shut down on SIGTERM without raising it again afterwards; else uvicorn's."""
        if sig == signal.SIGTERM:
            self.should_exit = True
            return
        super().handle_exit(sig, frame)


def _run_one(app: str, *, host: str, port: int, **options: Any) -> None:
    """One worker in this process (what ``uvicorn.run`` does, with :class:`CleanStopServer`):
    a server that never started exits with uvicorn's start-up failure status."""
    server = CleanStopServer(Config(app, factory=True, host=host, port=port, **options))
    try:
        server.run()
    except KeyboardInterrupt:  # Ctrl+C, raised again by uvicorn after its shutdown
        pass
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def run(app: str, *, workers: int, host: str, port: int, **options: Any) -> None:
    """Serve the ASGI factory ``app`` with ``workers`` processes: one worker runs in this
    process (:func:`_run_one`); more get a socket each where the OS has ``SO_REUSEPORT``.
    A SIGTERM shuts down cleanly and ends with status 0 either way."""
    import uvicorn

    if workers == 1:
        _run_one(app, host=host, port=port, **options)
        return
    if not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(app, factory=True, workers=workers, host=host, port=port, **options)
        return
    config = Config(app, factory=True, workers=workers, host=host, port=port, **options)
    placeholder = reuse_port_socket(host, port)  # holds the port; workers listen on theirs
    shown = f"[{host}]" if ":" in host else host
    # Not "running": the workers are only starting (each says "Application startup complete").
    logger.info("Uvicorn starting %d workers on http://%s:%d, one socket each "
                "(SO_REUSEPORT) (Press CTRL+C to quit)", workers, shown, port)
    try:
        OwnSocketSupervisor(config, sockets=[placeholder]).run()
    finally:
        placeholder.close()
