"""Free loopback ports, and a TCP proxy in front of a server that a test can cut off."""

from __future__ import annotations

import contextlib
import socket
import threading


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]



class SwitchableTCPProxy:
    """A loopback TCP proxy in front of a server, which a test can cut off or freeze.

    Takes "Redis" away from one worker, or from this process's Celery
    producer, without touching the shared Redis server other tests use:

    - ``down()``: every connection is closed and the port refuses new ones
      (Redis stopped);
    - ``hang()``: connections are accepted but nothing is ever answered
      (Redis paused, a half-dead network);
    - ``up()``: forwarding again, on the same port.
    """

    def __init__(self, upstream_host: str, upstream_port: int, *, host: str = "127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self.host = host
        self.port = free_port(host)
        self.forwarding = True
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._accepting: threading.Thread | None = None

    def url(self, database: int | str = 0) -> str:
        return f"redis://{self.host}:{self.port}/{database}"

    def up(self) -> SwitchableTCPProxy:
        self._close_connections()
        self.forwarding = True
        self._listen()
        return self

    def hang(self) -> SwitchableTCPProxy:
        self._close_connections()
        self.forwarding = False
        self._listen()
        return self

    def down(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        if self._accepting is not None:
            self._accepting.join(timeout=5)
            self._accepting = None
        self._close_connections()

    def _listen(self) -> None:
        if self._listener is not None:
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(64)
        listener.settimeout(0.2)
        self._listener = listener
        self._accepting = threading.Thread(target=self._accept_loop, args=(listener,),
                                           name=f"proxy-accept-{self.port}", daemon=True)
        self._accepting.start()

    def _close_connections(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept_loop(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            if not self.forwarding:
                with self._lock:  # held, never answered
                    self._sockets.add(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=2)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._sockets.update((client, server))
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
        except OSError:
            pass
        finally:
            # One direction ending ends the connection: the other pump wakes up too.
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            with self._lock:
                self._sockets.difference_update((source, target))

    def __enter__(self) -> SwitchableTCPProxy:
        return self

    def __exit__(self, *exc_info) -> None:
        self.down()

