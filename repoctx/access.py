"""Who may talk to ``repoctx serve``, and how repoctx's own clients present their credentials.

Server side (issue 16, item 10): a browser is the threat. Any web page can POST to a loopback
port (a ``text/plain`` request needs no CORS preflight), and a DNS-rebinding page reads the
answers of a same-origin GET. So the server accepts only loopback ``Host`` headers (plus the
address it was explicitly bound to), refuses any request that carries an ``Origin`` the user
did not allow (browsers always send one on a cross-origin fetch and on every POST), and, with a
key configured, wants ``Authorization: Bearer KEY`` (or basic auth whose password is the key).

Client side (item 12): a server URL may carry credentials (``http://user:pass@host``). They
are sent as HTTP basic auth (a lone ``http://TOKEN@host`` as a bearer token), never as part of
the URL, and :func:`mask_url` hides them in every message. Without credentials in the URL the
key is ``REPOCTX_SERVE_KEY``, else the one the running serve left in its 0600 state file when
the URL is that server's. Standard library only: the pre-commit hook imports this.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import os
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit, urlunsplit

from repoctx.running import pid_alive, read_state

KEY_ENV = "REPOCTX_SERVE_KEY"
LOOPBACK_NAMES = ("localhost",)


# ---------------------------------------------------------------- client side
def split_url(url: str) -> tuple[str, str | None, str | None]:
    """``(url without credentials, user, password)``; user/password None when absent."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if "@" not in parts.netloc:
        return url, None, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, sep, password = userinfo.partition(":")
    from urllib.parse import unquote

    clean = urlunsplit((parts.scheme, hostport, parts.path, parts.query, parts.fragment))
    return clean, unquote(user), unquote(password) if sep else None


def mask_url(url: str) -> str:
    """``url`` with its password (or a lone token) replaced by ``***``: safe to print."""
    if "@" not in url:
        return url
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
    except ValueError:
        return "<a URL with credentials>"
    if "@" not in parts.netloc:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, sep, _password = userinfo.partition(":")
    shown = f"{user}:***" if sep else "***"
    return urlunsplit((parts.scheme, f"{shown}@{hostport}", parts.path, parts.query,
                       parts.fragment))  # fmt: skip


def auth_header(url: str, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The ``Authorization`` header repoctx sends to ``url`` (empty dict: none).

    Credentials in the URL win; then ``REPOCTX_SERVE_KEY``; then the key a running
    ``repoctx serve`` at this very URL wrote to its state file (how the hook, review and the
    TUI reach a serve started with ``--api-key`` without configuration).
    """
    clean, user, password = split_url(url)
    if password is not None:
        token = base64.b64encode(f"{user or ''}:{password}".encode()).decode("ascii")
        return {"Authorization": f"Basic {token}"}
    if user:
        return {"Authorization": f"Bearer {user}"}
    e = os.environ if env is None else env
    key = e.get(KEY_ENV, "").strip() or _state_key(clean, e)
    return {"Authorization": f"Bearer {key}"} if key else {}


def _state_key(url: str, env: Mapping[str, str]) -> str:
    state = read_state(env)
    if state is None or not state.api_key or not pid_alive(state.pid):
        return ""  # a dead serve's port may be someone else's now: never send them the key
    return state.api_key if same_server(state.url, url) else ""


def same_server(a: str, b: str) -> bool:
    """Whether two server URLs name the same root (``/v1``, a trailing slash, localhost)."""
    return _root(a) == _root(b)


def _root(url: str) -> tuple[str, str, int | None, str]:
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        port = parts.port
    except ValueError:
        return ("", url, None, "")
    host = (parts.hostname or "").lower()
    host = "127.0.0.1" if host == "localhost" else host
    path = parts.path.rstrip("/").removesuffix("/v1").rstrip("/")
    return (parts.scheme.lower(), host, port, path)


# ---------------------------------------------------------------- server side
def _is_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def host_name(header: str) -> str:
    """The host of a ``Host`` header value: no port, no IPv6 brackets, lower case."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def host_allowed(header: str | None, bound: str) -> bool:
    """Whether a request's ``Host`` is this server's: loopback, or the address it was bound to.

    A DNS-rebinding page reaches the server under the attacker's domain name, which is what
    its ``Host`` header then says; an IP literal cannot be rebound. A request without a
    ``Host`` (HTTP/1.0 tools) is not a browser's. Bound to a wildcard address, any IP literal
    is the server's own; a name other than ``localhost`` never is.
    """
    if header is None:
        return True
    name = host_name(header)
    if name in LOOPBACK_NAMES:
        return True
    ip = _is_ip(name)
    if ip is not None and ip.is_loopback:
        return True
    bound_name = host_name(bound) if bound else ""
    if bound_name in ("", "0.0.0.0", "::"):
        return ip is not None
    return name == bound_name


def normal_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case, as browsers send ``Origin``."""
    return origin.strip().rstrip("/").lower()


def origin_allowed(origin: str | None, allowed: Iterable[str]) -> bool:
    """No ``Origin`` (not a browser's cross-site request) or one the user allowed."""
    if origin is None:
        return True
    return normal_origin(origin) in {normal_origin(a) for a in allowed}


def authorized(header: str | None, key: str) -> bool:
    """Whether ``Authorization`` carries ``key`` (bearer, or the password of basic auth)."""
    if not key:
        return True
    if not header:
        return False
    scheme, _, value = header.strip().partition(" ")
    given = value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(given, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return False
        given = decoded.partition(":")[2]
    elif scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.encode("utf-8"), key.encode("utf-8"))


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be an API key (it travels in an HTTP header), or None."""
    if not key:
        return "the API key is empty"
    if any(c.isspace() or ord(c) < 33 or ord(c) > 126 for c in key):
        return "the API key must be printable ASCII without spaces"
    return None
