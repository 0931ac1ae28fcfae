"""A loopback TCP proxy that can be cut: the database going away mid-run, for real."""

from __future__ import annotations

import os
import socket
import threading


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target until ``cut()`` closes everything at once."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.closed = False
        self.lock = threading.Lock()
        # A forked run must not keep a copy of the listening socket open: after cut() it would
        # go on accepting connections into its backlog that nobody answers.
        os.register_at_fork(after_in_child=self.server.close)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return  # cut
            upstream = socket.create_connection(self.target)
            with self.lock:
                if self.closed:  # cut while this one was being accepted
                    client.close()
                    upstream.close()
                    return
                self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        """Refuse new connections and drop every open one (the server is gone)."""
        self.server.close()
        with self.lock:
            self.closed = True
            for sock in self.sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
