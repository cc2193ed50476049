"""A small cookie-keeping HTTP client for signing in and checking pages before loading them."""

import http.client
import http.cookies
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

from bench.errors import BenchError, log

REDIRECTS = {301, 302, 303, 307, 308}


@dataclass(frozen=True)
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    url: str

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    @property
    def wire_size(self) -> int:
        """About the bytes of this response on the wire (status line, headers, body)."""
        head = len(f"HTTP/1.1 {self.status} XXXXXXXX\r\n") + 2
        head += sum(len(k) + len(v) + 4 for k, v in self.headers)
        return head + len(self.body)


class _HiddenInputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("type") == "hidden" and found.get("name"):
            self.values[found["name"] or ""] = found.get("value") or ""


def hidden_inputs(html: str) -> dict[str, str]:
    parser = _HiddenInputs()
    parser.feed(html)
    return parser.values


class Browser:
    """Keeps cookies like a browser, follows redirects on request, speaks to one host."""

    def __init__(self, base_url: str, timeout: float = 30) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname or not parts.port:
            raise ValueError(f"expected http://host:port, got {base_url!r}")
        self.base_url = f"http://{parts.hostname}:{parts.port}"
        self.host = parts.hostname
        self.port = parts.port
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    def cookie_header(self, *names: str) -> str:
        """A Cookie header value with the named cookies (all when none are named)."""
        chosen = names or tuple(self.cookies)
        return "; ".join(f"{name}={self.cookies[name]}" for name in chosen if name in self.cookies)

    def request(
        self,
        method: str,
        path: str,
        *,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """One request, no redirect followed."""
        all_headers = {"Accept": "text/html,*/*", **(headers or {})}
        body = None
        if form is not None:
            body = urlencode(form).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            all_headers["Cookie"] = self.cookie_header()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=all_headers)
            raw = conn.getresponse()
            response = Response(
                status=raw.status,
                headers=raw.getheaders(),
                body=raw.read(),
                url=urljoin(self.base_url, path),
            )
        except (OSError, http.client.HTTPException) as exc:
            raise BenchError(f"{method} {path}: {exc.__class__.__name__}: {exc}") from exc
        finally:
            conn.close()
        self._store_cookies(response)
        return response

    def get(self, path: str, *, follow: bool = True, limit: int = 10) -> Response:
        response = self.request("GET", path)
        for _ in range(limit):
            if not follow or response.status not in REDIRECTS:
                return response
            location = response.header("Location") or ""
            target = urlsplit(urljoin(response.url, location))
            if (target.hostname, target.port) != (self.host, self.port):
                raise BenchError(f"GET {path}: redirected off the server, to {location!r}")
            log(f"  {response.status} -> {location}")
            path = target.path + (f"?{target.query}" if target.query else "")
            response = self.request("GET", path)
        raise BenchError(f"GET {path}: more than {limit} redirects")

    def _store_cookies(self, response: Response) -> None:
        for name, value in response.headers:
            if name.lower() != "set-cookie":
                continue
            jar = http.cookies.SimpleCookie()
            jar.load(value)
            for key, morsel in jar.items():
                if morsel["max-age"] == "0" or morsel.value == "":
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = morsel.value


def sign_in(base_url: str, login: str, password: str) -> Browser:
    """Sign in through the real allauth form, as a person would; the signed-in browser."""
    browser = Browser(base_url)
    page = browser.get("/accounts/login/", follow=False)
    if page.status != 200:
        raise BenchError(f"GET /accounts/login/ answered {page.status}")
    token = hidden_inputs(page.text).get("csrfmiddlewaretoken")
    if not token or "csrftoken" not in browser.cookies:
        raise BenchError("the sign-in page gave no CSRF token (cookie and hidden input)")
    answer = browser.request(
        "POST",
        "/accounts/login/",
        form={"login": login, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base_url}/accounts/login/"},
    )
    if answer.status not in REDIRECTS or "sessionid" not in browser.cookies:
        raise BenchError(
            f"signing in as {login!r} failed: POST /accounts/login/ answered {answer.status}"
            f"{' without a session cookie' if 'sessionid' not in browser.cookies else ''}"
        )
    log(f"signed in as {login} -> {answer.header('Location')}")
    return browser
