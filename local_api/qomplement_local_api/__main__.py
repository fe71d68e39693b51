"""Command line: ``qomplement-local-api serve`` (or ``python -m qomplement_local_api``).

Prints the base URL and a valid key of the server, then serves until
interrupted (Ctrl+C or SIGTERM).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .clock import ManualClock
from .server import is_loopback, serve


def _parser() -> argparse.ArgumentParser:
    """Return the command line parser."""
    parser = argparse.ArgumentParser(
        prog="qomplement-local-api",
        description="A local server that behaves like the qomplement Jobs API.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "serve",
        help="serve the local API until interrupted",
        epilog="Control routes (loopback only, no key): POST /_local/jobs creates a "
        "job; /_local/faults, /_local/rate-limit, /_local/clock/advance and "
        "/_local/stats steer and observe the server; see the qomplement_local_api "
        "docstring.",
    )
    run.add_argument("--host", default="127.0.0.1", help="address to listen on")
    run.add_argument(
        "--port", type=_port, default=8000, help="port, 0 to 65535 (0: a free one)"
    )
    run.add_argument(
        "--no-sample-data",
        dest="sample_data",
        action="store_false",
        help="start without the sample jobs",
    )
    run.add_argument(
        "--allow-non-loopback",
        action="store_true",
        help="allow a host that is not a loopback address",
    )
    run.add_argument("--api-key", help="the valid key to use (default: a new one)")
    run.add_argument(
        "--manual-clock",
        action="store_true",
        help="freeze time; move it with POST /_local/clock/advance",
    )
    run.add_argument(
        "--log-level",
        default="warning",
        choices=["debug", "info", "warning", "error"],
        help="logging level (default: warning)",
    )
    return parser


def _port(text: str) -> int:
    """An argparse type: a TCP port number, 0 to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    # Out of range, the server would not fail: it would listen elsewhere (a
    # port taken modulo 65536, or a random one).
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0 to 65535, not {port}")
    return port


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    options = _parser().parse_args(argv)
    logging.basicConfig(
        level=options.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not options.allow_non_loopback and not is_loopback(options.host):
        print(
            f"error: {options.host} is not a loopback address; "
            "pass --allow-non-loopback to serve on it anyway",
            file=sys.stderr,
        )
        return 2
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        api = serve(
            host=options.host,
            port=options.port,
            sample_data=options.sample_data,
            api_key=options.api_key,
            clock=ManualClock() if options.manual_clock else None,
            allow_non_loopback=options.allow_non_loopback,
        )
    except (OSError, ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    with api:
        print("qomplement local API running; Ctrl+C stops it", flush=True)
        print(f"QOMPLEMENT_BASE_URL={api.base_url}")
        print(f"QOMPLEMENT_API_KEY={api.api_key}")
        print(f"revoked key: {api.revoked_key}", flush=True)
        while not stop.wait(0.5):
            if not api.running:
                print("error: the server stopped", file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
