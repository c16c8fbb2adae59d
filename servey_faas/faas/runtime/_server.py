"""The HTTP server of an action's OpenFaaS function: waitress, draining gracefully on SIGTERM.

Behind of-watchdog in ``mode=http`` (``docs/openfaas.md#shutdown``) the watchdog forwards
SIGTERM to this process at once and exits as soon as it exits, so requests in flight survive only if
this server drains: it stops listening at once (a new connect is refused), lets every request it
has already received (running in a worker thread, queued for one, or still arriving) finish and
writes its response in full, closes idle keep-alive connections, then returns. waitress has no
graceful shutdown of its own (the proposal, Pylons/waitress PR #269, was closed unmerged), so
:class:`DrainingServer` drives waitress's server object from ``waitress.create_server`` itself.

What it relies on in waitress (3.x) beyond ``create_server``, each use commented where it is made,
checked when a server is created (:func:`_check_waitress`) and pinned by
``tests/faas/runtime/test_function_server.py``, so that a waitress upgrade that breaks it fails
loudly:

* the socket map passed to ``create_server`` holds the listening servers (``BaseWSGIServer``),
  one ``HTTPChannel`` per connection, and waitress's trigger; ``wasyncore.loop(count=1)`` runs
  one poll of that map;
* ``wasyncore.dispatcher.close(listener)`` closes a listening socket only
  (``BaseWSGIServer.close`` would also close the trigger the worker threads still pull);
* ``HTTPChannel.requests`` (received requests: in service or queued), ``.request`` (one being
  received), ``.requests_lock`` guarding both, ``.close_when_flushed`` (waitress's own "close once
  the output is written") and ``.handle_close()``;
* ``BaseWSGIServer.maintenance(now)`` (closes connections idle past ``channel_timeout``) and
  ``.task_dispatcher`` (``ThreadedTaskDispatcher``): ``set_thread_count(0)``, ``threads``,
  ``shutdown(cancel_pending, timeout)``;
* for JSON error bodies: ``BaseWSGIServer.channel_class``, ``HTTPChannel.error_task_class`` and
  ``.send_continue()``, ``ErrorTask.execute()`` and the request parser's ``error``.

Importing this module imports waitress and the standard library only: no asyncio, Starlette or
uvicorn, for the function's cold start.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol, cast

from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask

from servey_faas.errors import ConfigurationError
from servey_faas.web.handling import Reply, error_reply, too_large_reply

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["DEFAULT_THREADS", "DrainingServer", "serve_wsgi"]

logger = logging.getLogger(__name__)

#: Worker threads (concurrent requests) of one function replica unless told otherwise. The
#: python3-http template runs waitress's default of 4 (``docs/openfaas.md#the-python3-http-template``).
DEFAULT_THREADS = 8
#: ``SERVER_SOFTWARE`` in the WSGI environ: waitress puts its ``ident`` there, and ``ident`` is
#: left empty so that no ``Server`` header is sent; PEP 3333 wants a string.
_SERVER_SOFTWARE = "waitress"
#: The signals that stop the server (the watchdog forwards SIGTERM, ``docs/openfaas.md#shutdown``; SIGINT is Ctrl-C).
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
#: Seconds between two looks at the worker threads at the end of a drain (they exit within ms).
_WORKER_POLL = 0.01


class _Channel(Protocol):
    """What the drain reads and sets on a waitress ``HTTPChannel`` (one client connection)."""

    requests: list[object]  # received requests, in service or queued (written by worker threads)
    request: object | None  # a request still being received (headers or body incomplete)
    requests_lock: threading.Lock  # guards both, as waitress's worker threads take it
    close_when_flushed: bool  # waitress closes the connection once its output is written

    def handle_close(self) -> None: ...


class _Listener(Protocol):
    """What the drain uses of a waitress ``BaseWSGIServer`` (one listening socket)."""

    accepting: bool
    effective_host: str
    effective_port: str | int

    def maintenance(self, now: float) -> None: ...


class _TaskDispatcher(Protocol):
    """waitress's ``ThreadedTaskDispatcher`` (the worker threads), as the drain stops it."""

    threads: set[int]  # the worker threads still running

    def set_thread_count(self, count: int) -> None: ...

    def shutdown(self, cancel_pending: bool = True, timeout: float = 5) -> bool: ...


class DrainingServer:
    """waitress serving one WSGI app on ``host:port``, draining instead of dropping connections when stopped.

    Creating it binds, listens and starts the worker threads (``port`` 0 picks a free port: see
    :attr:`addresses`); :meth:`serve` serves until :meth:`stop`, then drains, releases everything
    and returns (:meth:`close` releases a server that is not to serve). :func:`serve_wsgi` ties
    :meth:`stop` to SIGTERM and SIGINT; use this class directly to stop it from another thread.

    waitress is set up for a function behind the watchdog: ``threads`` worker threads; no
    ``Server`` header (``ident`` empty); a 500 with a generic body when the app raises, the
    traceback going to the log only (``expose_tracebacks=False``); ``X-Forwarded-*`` and
    ``Forwarded`` headers passed to the app untouched (the gateway sets ``X-Forwarded-Host`` and
    ``X-Forwarded-For``, ``docs/openfaas.md#gateway-headers``, ``docs/openfaas.md#what-the-function-receives``); chunked
    request bodies decoded (the watchdog always sends them chunked, ``docs/openfaas.md#request-forwarding``); no access
    log (waitress has none).

    ``max_body_bytes`` (None: waitress's own limit, 1 GiB) bounds request bodies: a larger one is
    refused with a 413 by waitress itself, from its ``Content-Length`` or as soon as a chunked body
    grows past it, before the app runs and without keeping it. waitress's own error responses (that
    413, a malformed request's 400, ...) carry the app's JSON error body
    (``{"error": ..., "message": ...}``, :func:`~servey_faas.web.handling.error_reply`) instead of
    waitress's text.

    :raises ValueError: when ``threads`` < 1, or waitress rejects ``host`` or ``port``.
    :raises OSError: when ``host:port`` cannot be bound (e.g. already in use).
    :raises ConfigurationError: when the installed waitress lacks an internal the drain relies on.
    """

    def __init__(
        self,
        app: WSGIApplication,
        host: str,
        port: int,
        *,
        threads: int = DEFAULT_THREADS,
        max_body_bytes: int | None = None,
    ) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, not {threads}")
        # waitress refuses a body of max_request_body_size bytes or more.
        body_limit = Adjustments.max_request_body_size if max_body_bytes is None else max_body_bytes + 1
        # One socket map of our own: create_server registers its listening socket(s) and trigger
        # in it, and every accepted connection adds its HTTPChannel to it. Its values are
        # wasyncore dispatchers (types-waitress says sockets).
        self._map: dict[int, Any] = {}
        server = create_server(
            _with_server_software(app),
            map=self._map,
            host=host,
            port=port,
            threads=threads,
            ident="",
            expose_tracebacks=False,
            clear_untrusted_proxy_headers=False,
            asyncore_use_poll=True,
            max_request_body_size=body_limit,
        )
        # All listeners share one task dispatcher (the worker threads, started already).
        self._dispatcher = cast(_TaskDispatcher, server.task_dispatcher)
        for dispatcher in self._map.values():
            if isinstance(dispatcher, BaseWSGIServer):
                dispatcher.channel_class = _JsonErrorChannel  # for every connection accepted from now on
        self._listeners = [cast(_Listener, d) for d in self._map.values() if isinstance(d, BaseWSGIServer)]
        try:
            _check_waitress(self._listeners)
            self._wakeup = _Wakeup(self._map)
        except BaseException:
            self._release()
            raise
        self._poll_timeout = float(server.adj.asyncore_loop_timeout)
        self._stop_reason: str | None = None
        self._cut_short = False
        self._served = False

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """The ``(host, port)`` pairs listened on (several when ``host`` resolves to IPv4 and IPv6)."""
        return [(listener.effective_host, int(listener.effective_port)) for listener in self._listeners]

    @property
    def urls(self) -> list[str]:
        """The addresses as ``http://host:port`` URLs (IPv6 hosts in brackets)."""
        return [f"http://[{h}]:{p}" if ":" in h else f"http://{h}:{p}" for h, p in self.addresses]

    def stop(self, reason: str = "stop requested") -> None:
        """Ask :meth:`serve` to stop listening and drain; a second call cuts the drain short.

        Safe from a signal handler and from any thread (it takes no lock: it sets a flag and
        writes one byte to a socket the serving loop polls). ``reason`` is logged by the loop.
        """
        if self._stop_reason is None:
            self._stop_reason = reason
        else:
            self._cut_short = True
        self._wakeup.pull()

    def close(self) -> None:
        """Release the listening socket(s) and the worker threads of a server that will not serve.

        :meth:`serve` releases them itself when it returns; closing after that does nothing.
        """
        if not self._served:
            self._served = True
            self._release()

    def serve(self, drain_timeout: float | None = None) -> None:
        """Serve until :meth:`stop`, then drain and return; call once, in the thread that owns the server.

        The drain: the listening socket is closed at once (a new connect is refused; connections
        the kernel had queued but waitress not yet accepted are reset); idle keep-alive connections
        are closed; a request already received (in a worker thread or queued for one), or whose
        headers have arrived, completes and its response is written in full, after which its
        connection is closed; a connection idle for waitress's ``channel_timeout`` (120 s) while
        sending a request is closed. Then the worker threads are stopped and everything is closed.

        ``drain_timeout`` (seconds) bounds the drain: past it, or at a second :meth:`stop`, the
        connections still open are closed without their responses and :meth:`serve` returns, leaving
        any request still running in a (daemon) worker thread behind. ``None`` waits for in-flight
        requests however long they take.

        :raises ValueError: when ``drain_timeout`` is negative.
        :raises RuntimeError: when called a second time.
        """
        if drain_timeout is not None and drain_timeout < 0:
            raise ValueError(f"drain_timeout must be >= 0 seconds or None, not {drain_timeout}")
        if self._served:
            raise RuntimeError("a DrainingServer serves once")
        self._served = True
        try:
            logger.info("serving on %s", ", ".join(self.urls))
            while self._stop_reason is None:
                wasyncore.loop(timeout=self._poll_timeout, use_poll=True, map=self._map, count=1)
            deadline = None if drain_timeout is None else time.monotonic() + drain_timeout
            self._stop_listening()
            if self._close_connections(deadline, drain_timeout):
                self._stop_workers(deadline, drain_timeout)
        finally:
            self._release()
        logger.info("stopped")

    def _release(self) -> None:
        """Close what is still open (everything, unless a drain closed it) and let idle workers exit."""
        for channel in self._channels():
            channel.handle_close()
        self._dispatcher.set_thread_count(0)  # a no-op after a drain
        # The listeners (unless the drain closed them), waitress's trigger and our wake-up socket.
        wasyncore.close_all(self._map)

    def _stop_listening(self) -> None:
        for listener in self._listeners:
            # Not BaseWSGIServer.close(): it also closes the trigger that worker threads pull
            # when a response is ready, which the open connections still need.
            listener.accepting = False
            wasyncore.dispatcher.close(cast(wasyncore.dispatcher, listener))
        logger.info("%s: no longer listening; draining %d connection(s)", self._stop_reason, len(self._channels()))

    def _close_connections(self, deadline: float | None, drain_timeout: float | None) -> bool:
        """Serve the open connections until each is closed once done; False when cut short."""
        while True:
            now = time.time()  # waitress's clock for channel activity
            for listener in self._listeners:
                listener.maintenance(now)  # out of the map, a listener's readable() no longer runs it
            channels = self._channels()
            for channel in channels:
                _close_when_done(channel)
            if not channels:
                return True
            remaining = self._remaining(deadline)
            if remaining is not None and remaining <= 0:
                logger.warning(
                    "drain cut short by %s: closing %d connection(s) with requests in flight",
                    self._cut_short_by(drain_timeout),
                    len(channels),
                )
                for channel in channels:
                    channel.handle_close()
                return False
            timeout = self._poll_timeout if remaining is None else min(self._poll_timeout, remaining)
            wasyncore.loop(timeout=timeout, use_poll=True, map=self._map, count=1)

    def _stop_workers(self, deadline: float | None, drain_timeout: float | None) -> None:
        """Wait for the worker threads to exit: idle ones at once, one still running the request of a
        connection that is already closed (its client went away) when that request returns."""
        self._dispatcher.set_thread_count(0)  # each worker exits once its current task is done
        while self._dispatcher.threads:
            remaining = self._remaining(deadline)
            if remaining is not None and remaining <= 0:
                logger.warning(
                    "drain cut short by %s: %d request(s) of closed connections still running, left behind",
                    self._cut_short_by(drain_timeout),
                    len(self._dispatcher.threads),
                )
                return
            time.sleep(_WORKER_POLL if remaining is None else min(_WORKER_POLL, remaining))
        self._dispatcher.shutdown(cancel_pending=True, timeout=0)  # no worker left: cancels queued tasks

    def _remaining(self, deadline: float | None) -> float | None:
        """Seconds left to drain: None for no bound, 0 once cut short by a second :meth:`stop`."""
        if self._cut_short:
            return 0.0
        return None if deadline is None else deadline - time.monotonic()

    def _cut_short_by(self, drain_timeout: float | None) -> str:
        return "a second stop" if self._cut_short else f"drain_timeout ({drain_timeout} s)"

    def _channels(self) -> list[_Channel]:
        return [cast(_Channel, d) for d in list(self._map.values()) if isinstance(d, HTTPChannel)]


def serve_wsgi(
    app: WSGIApplication,
    host: str,
    port: int,
    *,
    threads: int = DEFAULT_THREADS,
    drain_timeout: float | None = None,
    max_body_bytes: int | None = None,
) -> None:
    """Serve ``app`` with waitress on ``host:port`` until SIGTERM or SIGINT, then drain and return.

    The server and the drain are :class:`DrainingServer`'s: on the signal it stops listening at
    once (a new connect is refused), lets the requests it has received finish and writes their
    responses in full, closes idle keep-alive connections, and returns; the caller's process then
    exits (``docs/openfaas.md#shutdown``: the watchdog forwards SIGTERM at once and exits when its child exits).
    ``drain_timeout`` bounds the drain in seconds (``None``: no bound); a second signal cuts it
    short. The listen address is logged once at INFO (logger ``servey_faas.faas.runtime._server``).

    The signal handlers are installed only while serving and only when called in the main thread
    (Python delivers signals there); the previous handlers are restored on return. Called in
    another thread, it installs none and serves until the process ends: use
    :class:`DrainingServer` and its ``stop()`` there.

    ``threads`` is the number of worker threads, i.e. of requests run at once; further requests
    queue inside waitress. ``max_body_bytes`` bounds request bodies (see :class:`DrainingServer`).

    :raises ValueError: when ``threads`` < 1, ``drain_timeout`` < 0, or ``host``/``port`` is invalid.
    :raises OSError: when ``host:port`` cannot be bound.
    """
    if drain_timeout is not None and drain_timeout < 0:
        raise ValueError(f"drain_timeout must be >= 0 seconds or None, not {drain_timeout}")
    server = DrainingServer(app, host, port, threads=threads, max_body_bytes=max_body_bytes)
    with _signals_stop(server):
        server.serve(drain_timeout)


@contextmanager
def _signals_stop(server: DrainingServer) -> Iterator[None]:
    """SIGTERM and SIGINT call ``server.stop`` while the block runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        server.stop(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, on_signal) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            # None: the previous handler was not installed from Python; the default is the best guess.
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)


def _close_when_done(channel: _Channel) -> None:
    """Close ``channel`` once its output is written, unless it holds a request to serve.

    ``requests_lock`` is the lock waitress's worker threads take to pop a finished request and
    queue the next one; ``close_when_flushed`` stops the channel reading and closes it from the
    serving loop as soon as its output buffer is empty (waitress sets it itself on
    ``Connection: close``).
    """
    with channel.requests_lock:
        if not channel.requests and channel.request is None:
            channel.close_when_flushed = True


def _with_server_software(app: WSGIApplication) -> WSGIApplication:
    """``app`` with ``SERVER_SOFTWARE`` set to a string (waitress sets it to ``None`` when ``ident`` is empty)."""

    def wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        environ["SERVER_SOFTWARE"] = _SERVER_SOFTWARE
        return app(environ, start_response)

    return wsgi


#: Error names of waitress's own error responses, by status (others are ``bad_request``).
_ERROR_NAMES = {431: "request_header_fields_too_large", 500: "internal_error", 501: "not_implemented"}


class _JsonErrorTask(ErrorTask):
    """waitress's answer to a request it refuses itself, with the app's JSON error body."""

    def execute(self) -> None:
        error = getattr(self.request, "error")  # noqa: B009 - a parser; types-waitress says Error
        reply = _error_reply(error.code, error.reason, error.body, self.channel.server.adj.max_request_body_size)
        self.status = f"{error.code} {'Content Too Large' if error.code == 413 else error.reason}"
        cast(list[tuple[str, str]], self.response_headers).append(("Content-Type", str(reply.media_type)))
        self.set_close_on_finish()
        self.content_length = len(reply.body)
        self.write(reply.body)


def _error_reply(code: int, reason: str, detail: str, max_request_body_size: int) -> Reply:
    if code == 413:
        return too_large_reply(max_request_body_size - 1)  # waitress refuses max_request_body_size itself
    return error_reply(code, _ERROR_NAMES.get(code, "bad_request"), f"{reason}: {detail}")


class _JsonErrorChannel(HTTPChannel):
    """waitress's connection, answering the requests it refuses with :class:`_JsonErrorTask`."""

    error_task_class = _JsonErrorTask

    def send_continue(self) -> None:
        """No ``100 Continue`` for a request refused from its headers (e.g. a ``Content-Length``
        over the limit): it is answered at once and its body never invited (RFC 9110 §10.1.1).
        waitress 3 would send it and then wait for the body it refuses."""
        if self.request is not None and self.request.error is not None:
            return
        super().send_continue()


def _name(owner: object) -> str:
    return str(getattr(owner, "__name__", type(owner).__name__))


def _check_waitress(listeners: list[_Listener]) -> None:
    """Fail at startup, not at the first SIGTERM, when waitress lacks what the drain uses.

    :raises ConfigurationError: naming what is missing.
    """
    wanted: list[tuple[object, str]] = [
        (wasyncore, "loop"),
        (wasyncore, "close_all"),
        (wasyncore.dispatcher, "close"),
        (HTTPChannel, "close_when_flushed"),
        (HTTPChannel, "request"),
        (HTTPChannel, "handle_close"),
    ]
    wanted += [(listener, name) for listener in listeners for name in ("maintenance", "task_dispatcher", "accepting")]
    missing = [f"{_name(owner)}.{name}" for owner, name in wanted if not hasattr(owner, name)]
    if not listeners:
        missing.append("a BaseWSGIServer in the socket map")
    if missing:
        raise ConfigurationError(
            "the installed waitress lacks what servey_faas's graceful drain relies on "
            f"(servey_faas.faas.runtime._server): {', '.join(missing)}; servey_faas supports waitress 3"
        )


class _Wakeup(wasyncore.dispatcher):
    """One end of a socket pair in the socket map: :meth:`pull` wakes the serving loop's poll.

    Unlike waitress's trigger it takes no lock, so a signal handler (which runs in the main thread,
    possibly while that thread is inside waitress) can pull it without deadlocking.
    """

    def __init__(self, socket_map: dict[int, Any]) -> None:
        reader, self._writer = socket.socketpair()
        self._writer.setblocking(False)
        super().__init__(reader, map=socket_map)

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def handle_read(self) -> None:
        try:
            self.recv(4096)
        except OSError:
            pass

    def pull(self) -> None:
        try:
            self._writer.send(b"\0")
        except OSError:  # full (the loop is already awake) or closed (serving has ended)
            pass

    def close(self) -> None:
        super().close()
        self._writer.close()
