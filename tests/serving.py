"""The app served by werkzeug's threaded server on a free loopback port, for browser tests."""

from __future__ import annotations

import threading
from collections.abc import Callable

from werkzeug.serving import make_server


def closing_responses(app):
    """*app* with every response closed however its sending ends. werkzeug's development server
    skips closing the response when the browser drops the connection in the middle of the body
    (its clean-up reads the dropped socket again, which can raise), and a file being sent is
    then left open to the garbage collector: a ResourceWarning, an error in these tests."""

    def closed_after(environ, start_response):
        response = app(environ, start_response)
        try:
            yield from response
        finally:
            close = getattr(response, "close", None)
            if close is not None:
                close()

    return closed_after


def serve(app) -> tuple[str, Callable[[], None]]:
    """Start serving *app*; its base URL and the function that stops it."""
    server = make_server("127.0.0.1", 0, closing_responses(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()

    return f"http://127.0.0.1:{server.server_port}", stop
