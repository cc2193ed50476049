"""A small OpenID Connect issuer over real HTTP on 127.0.0.1, for the sign-in with the school's
accounts (accounts.signin): discovery, its own RSA key (made at start) as a JWKS, an authorize
page with a form "Sign in as <e-mail>", a token endpoint answering an RS256 ID token (iss, aud,
exp, iat, sub, nonce when one was sent) and an access token, and user info. It checks what a
real issuer checks: the client id and secret (HTTP Basic or in the body), the redirect URI,
that a code is used once, and PKCE (S256). Tests pick who signs in (``person``) and read
``refusals`` and ``token_requests``.

    issuer = Issuer(client_id="portfolio", client_secret="s3cret")
    with serving(issuer):
        issuer.person = Person(sub="1", email="s1@school.example.edu.tw")
        response = sign_in_through(client, issuer, "123456")
"""

import base64
import contextlib
import dataclasses
import hashlib
import html
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client
from django.urls import reverse

KEY_ID = "test-issuer-key"


@dataclasses.dataclass
class Person:
    """Who signs in at the issuer, with the claims it vouches for."""

    sub: str
    email: str
    email_verified: bool = True
    name: str = "測試學生"
    hd: str = ""

    def claims(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "sub": self.sub,
            "email": self.email,
            "email_verified": self.email_verified,
            "name": self.name,
        }
        if self.hd:
            found["hd"] = self.hd
        return found


class Refused(Exception):
    """A request the issuer answers with HTTP 400 (its reason kept in ``refusals``)."""


class Issuer:
    def __init__(self, *, client_id: str, client_secret: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.url = ""  # set while serving
        self.person: Person | None = None
        self.refusals: list[str] = []
        self.token_requests: list[dict[str, str]] = []
        self.lock = threading.Lock()
        self._pending: dict[str, dict[str, str]] = {}
        self._codes: dict[str, tuple[dict[str, str], Person]] = {}
        self._tokens: dict[str, Person] = {}

    # --- documents ---

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "email", "email_verified", "name", "hd"],
        }

    def jwks(self) -> dict[str, Any]:
        key = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**key, "kid": KEY_ID, "alg": "RS256", "use": "sig"}]}

    # --- endpoints ---

    def authorize_page(self, query: dict[str, str]) -> str:
        if query.get("client_id") != self.client_id:
            raise Refused("unknown client_id")
        if query.get("response_type") != "code" or "openid" not in query.get("scope", "").split():
            raise Refused("not an OpenID Connect code request")
        if not query.get("redirect_uri", "").startswith(("http://", "https://")):
            raise Refused("no redirect_uri")
        if self.person is None:
            raise Refused("no one to sign in as")
        request_id = secrets.token_urlsafe(12)
        with self.lock:
            self._pending[request_id] = query
        email = html.escape(self.person.email)
        return (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            "<title>Test issuer</title></head><body><main><h1>Test issuer</h1>"
            f'<form method="post" action="/authorize">'
            f'<input type="hidden" name="request" value="{request_id}">'
            f'<button type="submit">Sign in as {email}</button></form></main></body></html>'
        )

    def approve(self, form: dict[str, str]) -> str:
        """The redirect back to the client, with a code and the client's state."""
        with self.lock:
            query = self._pending.pop(form.get("request", ""), None)
        if query is None or self.person is None:
            raise Refused("no such authorization request")
        code = secrets.token_urlsafe(16)
        with self.lock:
            self._codes[code] = (query, self.person)
        answer = {"code": code}
        if "state" in query:
            answer["state"] = query["state"]
        separator = "&" if "?" in query["redirect_uri"] else "?"
        return f"{query['redirect_uri']}{separator}{urllib.parse.urlencode(answer)}"

    def token(self, form: dict[str, str], authorization: str) -> dict[str, Any]:
        self.token_requests.append(dict(form))
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if authorization.startswith("Basic "):
            decoded = base64.b64decode(authorization.removeprefix("Basic ")).decode()
            client_id, _colon, secret = (urllib.parse.unquote(p) for p in decoded.partition(":"))
        if client_id != self.client_id or secret != self.client_secret:
            raise Refused("client authentication failed")
        if form.get("grant_type") != "authorization_code":
            raise Refused("unsupported grant_type")
        with self.lock:
            found = self._codes.pop(form.get("code", ""), None)
        if found is None:
            raise Refused("unknown or used code")
        query, person = found
        if form.get("redirect_uri") != query["redirect_uri"]:
            raise Refused("redirect_uri differs from the authorization request's")
        challenge = query.get("code_challenge")
        if challenge:
            verifier = form.get("code_verifier", "").encode()
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
            if query.get("code_challenge_method") != "S256" or digest.decode() != challenge:
                raise Refused("PKCE verification failed")
        access_token = secrets.token_urlsafe(24)
        with self.lock:
            self._tokens[access_token] = person
        now = int(time.time())
        claims = {
            **person.claims(),
            "iss": self.url,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            "jti": secrets.token_urlsafe(8),
        }
        if "nonce" in query:
            claims["nonce"] = query["nonce"]
        id_token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": KEY_ID})
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }

    def userinfo(self, authorization: str) -> dict[str, Any]:
        person = self._tokens.get(authorization.removeprefix("Bearer "))
        if person is None:
            raise Refused("unknown access token")
        return person.claims()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    issuer: Issuer


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def do_GET(self):
        issuer = self.server.issuer
        path, _q, raw_query = self.path.partition("?")
        query = dict(urllib.parse.parse_qsl(raw_query))
        try:
            if path == "/.well-known/openid-configuration":
                self._json(issuer.discovery())
            elif path == "/jwks":
                self._json(issuer.jwks())
            elif path == "/authorize":
                self._send(200, issuer.authorize_page(query).encode(), "text/html; charset=utf-8")
            elif path == "/userinfo":
                self._json(issuer.userinfo(self.headers.get("Authorization", "")))
            else:
                self._send(404, b"not found", "text/plain")
        except Refused as refusal:
            self._refuse(refusal)

    def do_POST(self):
        issuer = self.server.issuer
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        try:
            if self.path == "/authorize":
                self.send_response(302)
                self.send_header("Location", issuer.approve(form))
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path == "/token":
                self._json(issuer.token(form, self.headers.get("Authorization", "")))
            else:
                self._send(404, b"not found", "text/plain")
        except Refused as refusal:
            self._refuse(refusal)

    def _refuse(self, refusal: Refused) -> None:
        self.server.issuer.refusals.append(str(refusal))
        body = json.dumps({"error": "invalid_request", "error_description": str(refusal)})
        self._send(400, body.encode(), "application/json")

    def _json(self, data: dict[str, Any]) -> None:
        self._send(200, json.dumps(data).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextlib.contextmanager
def serving(issuer: Issuer) -> Iterator[str]:
    """``issuer`` on a free port of 127.0.0.1 while the block runs; its URL (the issuer)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.issuer = issuer
    issuer.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield issuer.url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# --- Driving the flow with Django's test client ----------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _open(url: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
    """(status, Location, body) of a GET (or, with ``form``, a POST) to the issuer on
    loopback, redirects not followed."""
    assert url.startswith("http://127.0.0.1:"), url
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data)  # noqa: S310 (checked above)
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(request, timeout=10) as answer:
            return answer.status, answer.headers.get("Location", ""), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location", ""), error.read().decode()


def sign_in_through(client: Client, issuer: Issuer, school_code: str, **extra: str):
    """Pick ``school_code`` on the sign-in page, sign in at the issuer as ``issuer.person``
    and come back to the callback: allauth's answer to the callback."""
    started = client.post(reverse("accounts:school_signin"), {"school": school_code, **extra})
    assert started.status_code == 302, started.content.decode()[:2000]
    authorize = started["Location"]
    assert authorize.startswith(f"{issuer.url}/authorize?"), authorize
    status, _location, page = _open(authorize)
    assert status == 200, page
    request_id = re.search(r'name="request" value="([^"]+)"', page)
    assert request_id, page
    status, callback, body = _open(f"{issuer.url}/authorize", {"request": request_id.group(1)})
    assert status == 302, body
    parts = urllib.parse.urlsplit(callback)
    assert parts.path.endswith("/login/callback/"), callback
    return client.get(f"{parts.path}?{parts.query}")
