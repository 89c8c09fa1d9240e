"""Network calls that fail fast and say why (DESIGN.md, "Network calls").

Every remote call starts with a preflight of a few seconds: a TCP connect with a short timeout
(nothing listening, no route, no DNS) and then a small request whose answer must look like the
expected server (an Overpass status page, an HTTP file, a Dask handshake). So a silent or wrong
server is told apart from a slow one in seconds, and long reads keep their generous timeout.
Every failure is a :class:`ServerError` (exit 1) naming the host and what to check.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from urllib.parse import urlsplit

from geo.errors import ServerError

# a Dask handshake is a few hundred bytes (msgpack of comm options); an HTTP or other server
# read as a Dask frame length gives an absurd size (the "MemoryError 3.07 EiB" of issue 20)
DASK_HANDSHAKE_MAX_BYTES = 1 << 20


def host_port(address: str, *, default_port: int) -> tuple[str, int]:
    """``(host, port)`` of a URL or ``tcp://host:port`` address."""
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if not parts.hostname:
        raise ServerError(f"no host in {address!r}; give e.g. tcp://HOST:8786 or https://HOST/")
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme, default_port)
    return parts.hostname, port


def tcp_connect(host: str, port: int, *, timeout_s: float, what: str) -> socket.socket:
    """A connected socket, or a :class:`ServerError` saying whether nothing listens, the host is
    unknown, or it does not answer."""
    where = f"{host}:{port}"
    try:
        return socket.create_connection((host, port), timeout=timeout_s)
    except socket.gaierror:
        raise ServerError(
            f"cannot resolve host {host!r} ({what}); check the address and this machine's DNS "
            "or network connection",
            source=where,
        ) from None
    except ConnectionRefusedError:
        raise ServerError(
            f"nothing listens on {where} ({what}); check the port and that the server is running",
            source=where,
        ) from None
    except TimeoutError:
        raise ServerError(
            f"{where} did not accept a connection within {timeout_s:g} s ({what}); check the "
            "address, a firewall or proxy, and this machine's network connection",
            source=where,
        ) from None
    except OSError as exc:
        raise ServerError(
            f"cannot connect to {where} ({what}): {exc.strerror or exc}; check the network",
            source=where,
        ) from None


def preflight_dask(address: str, *, timeout_s: float = 5.0) -> None:
    """Check within ``timeout_s`` (twice) that ``address`` is a Dask scheduler.

    A Dask server sends its handshake frame as soon as a connection opens; an HTTP server, a
    silent port or anything else sends nothing or a frame of absurd length.
    """
    host, port = host_port(address, default_port=8786)
    what = "Dask scheduler, --scheduler"
    with tcp_connect(host, port, timeout_s=timeout_s, what=what) as sock:
        sock.settimeout(timeout_s)
        head, reason = b"", ""
        try:
            while len(head) < 8:
                chunk = sock.recv(8 - len(head))
                if not chunk:
                    reason = "it closed the connection"
                    break
                head += chunk
        except TimeoutError:
            pass
        except OSError as exc:
            reason = exc.strerror or str(exc)
    hint = "start one with `dask scheduler` (+ `dask worker ADDR`), or omit --scheduler"
    if len(head) < 8:
        raise ServerError(
            f"{host}:{port} accepted the connection but sent no Dask handshake within "
            f"{timeout_s:g} s {reason and f'({reason}) '}- it is not a Dask scheduler (an HTTP "
            f"server? the dashboard port 8787 instead of 8786?); {hint}",
            source=address,
            field="--scheduler",
        )
    (size,) = struct.unpack("<Q", head)
    if not 0 < size <= DASK_HANDSHAKE_MAX_BYTES:
        shown = head.decode("latin-1").strip()
        raise ServerError(
            f"{host}:{port} answered {shown!r}..., not a Dask handshake: it is not a Dask "
            f"scheduler; {hint}",
            source=address,
            field="--scheduler",
        )


def preflight_http(
    url: str, *, timeout_s: float, what: str, expect: Callable[[int, str], bool] | None = None
) -> None:
    """A small GET of ``url`` within ``timeout_s`` (connect and answer); ``expect(status, text)``
    tells the right server from a wrong one."""
    import requests

    host, port = host_port(url, default_port=80)
    tcp_connect(host, port, timeout_s=timeout_s, what=what).close()
    try:
        with requests.get(url, timeout=(timeout_s, timeout_s), stream=True) as r:
            text = r.raw.read(2048, decode_content=True).decode("utf-8", "replace")
            status = r.status_code
    except requests.Timeout:
        raise ServerError(
            f"{host}:{port} accepted the connection but did not answer within {timeout_s:g} s "
            f"({what}); check the URL (a wrong port or protocol?) and any proxy",
            source=url,
        ) from None
    except requests.RequestException as exc:
        raise ServerError(
            f"{host}:{port} ({what}) failed: {type(exc).__name__}; check the URL and the network",
            source=url,
        ) from None
    if expect is not None and not expect(status, text):
        raise ServerError(
            f"{host}:{port} answered HTTP {status} but not like the {what} "
            f"(first words: {text[:80]!r}); check the URL",
            source=url,
        )
