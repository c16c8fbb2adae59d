"""The REST auth matrix over a real uvicorn server, for HS256, RS256 and ES256 keys; iss/aud checks;
and the key handling of ``python -m servey_faas`` end to end (a protected app without a key does not
start, ``--generate-jwt-key``, ``SERVEY_DEBUG_AUTHENTICATOR=1``).

Every process started here is stopped (terminate, then kill) when its test ends; the deadlines are
safety nets, never performance thresholds.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from servey_faas import get_action
from servey_faas.app import ServeyApp
from servey_faas.authentication import JwtSettings
from servey_faas.discovery import ActionRegistry
from servey_faas.faas.gateway.processes import free_port
from servey_faas.settings import Settings
from tests.test_authentication import SECRET, KeyPair, ec_keys, rsa_keys, sign
from tests.web.test_auth import AUTH_ACTIONS, NO_TOKEN_CHALLENGE, READ_SCOPE, challenge_attributes

from .live_server import CLIENT_TIMEOUT, serve

#: Seconds a process may take to start, answer or exit (a safety net).
DEADLINE = 60.0


@dataclass(frozen=True)
class Keys:
    """How one server verifies (``server_key``) and how its clients sign (``signing_key``, ``algorithm``);
    ``foreign_key`` signs with the same algorithm but another key."""

    algorithm: str
    server_key: str
    signing_key: str
    foreign_key: str


def _pair(keys: KeyPair, other: KeyPair) -> Keys:
    return Keys(keys.algorithm, keys.public_pem, keys.private_pem, other.private_pem)


KEYS: dict[str, Callable[[], Keys]] = {
    "HS256": lambda: Keys("HS256", SECRET, SECRET, SECRET[::-1]),
    "RS256": lambda: _pair(rsa_keys(), rsa_keys(n=1)),
    "ES256": lambda: _pair(ec_keys("ES256"), ec_keys("ES256", n=1)),
}


def app_with(jwt_settings: JwtSettings) -> ServeyApp:
    registry = ActionRegistry(a for a in map(get_action, AUTH_ACTIONS) if a is not None)
    return ServeyApp.from_registry(registry, Settings(jwt=jwt_settings))


@dataclass(frozen=True)
class Server:
    url: str
    keys: Keys

    def token(self, *, key: str | None = None, **claims: Any) -> str:
        return sign(key or self.keys.signing_key, self.keys.algorithm, **claims)


@pytest.fixture(scope="module", params=sorted(KEYS))
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    keys = KEYS[request.param]()
    with serve(app_with(JwtSettings(keys.server_key))) as url:
        yield Server(url, keys)


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=CLIENT_TIMEOUT) as client:
        yield client


# --- the matrix ----------------------------------------------------------------------------------

NOW = int(time.time())

#: case → (Authorization header made from the server, status, challenge attributes or None)
MATRIX: dict[str, tuple[Callable[[Server], str | None], int, dict[str, str] | None]] = {
    "no token": (lambda s: None, 401, {"realm": "servey_faas"}),
    "garbage": (
        lambda s: "Bearer not-a-jwt",
        401,
        {
            "realm": "servey_faas",
            "error": "invalid_token",
            "error_description": "invalid bearer token: Not enough segments",
        },
    ),
    "bad signature": (
        lambda s: f"Bearer {s.token(key=s.keys.foreign_key, scope=READ_SCOPE)}",
        401,
        {
            "realm": "servey_faas",
            "error": "invalid_token",
            "error_description": "invalid bearer token: Signature verification failed",
        },
    ),
    "expired": (
        lambda s: f"Bearer {s.token(scope=READ_SCOPE, lifetime=-30)}",
        401,
        {"realm": "servey_faas", "error": "invalid_token", "error_description": "the bearer token has expired"},
    ),
    "not yet valid": (
        lambda s: f"Bearer {s.token(scope=READ_SCOPE, nbf=int(time.time()) + 3600)}",
        401,
        {"realm": "servey_faas", "error": "invalid_token", "error_description": "the bearer token is not valid yet"},
    ),
    "wrong scope": (
        lambda s: f"Bearer {s.token(scope='orders:write profile')}",
        403,
        {
            "realm": "servey_faas",
            "error": "insufficient_scope",
            "error_description": "the token lacks the scope 'orders:read'",
            "scope": READ_SCOPE,
        },
    ),
    "right scope": (lambda s: f"Bearer {s.token(scope='profile orders:read')}", 200, None),
}


@pytest.mark.parametrize("case", list(MATRIX))
def test_the_auth_matrix(http: httpx.Client, server: Server, case: str) -> None:
    make_header, status, challenge = MATRIX[case]
    header = make_header(server)
    response = http.get(
        "/actions/list-orders", params={"customer": "ann"}, headers={"Authorization": header} if header else {}
    )
    assert response.status_code == status, response.text
    if challenge is None:
        assert response.json() == ["ann-1", "ann-2"]
        assert "www-authenticate" not in response.headers
        return
    assert challenge_attributes(response.headers["www-authenticate"]) == challenge
    assert response.json()["error"] == ("unauthorized" if status == 401 else "forbidden")
    if case == "no token":
        assert response.headers["www-authenticate"] == NO_TOKEN_CHALLENGE


def test_a_token_of_another_algorithm_is_a_401(http: httpx.Client, server: Server) -> None:
    other = "HS256" if server.keys.algorithm != "HS256" else "RS256"
    token = sign(KEYS[other]().signing_key, other, scope=READ_SCOPE)
    response = http.get("/actions/list-orders", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert challenge_attributes(response.headers["www-authenticate"])["error"] == "invalid_token"


def test_an_open_action_with_a_bad_token_is_a_401(http: httpx.Client, server: Server) -> None:
    assert http.get("/actions/ping").json() == "pong"
    response = http.get("/actions/ping", headers={"Authorization": f"Bearer {server.token(lifetime=-30)}"})
    assert response.status_code == 401
    assert challenge_attributes(response.headers["www-authenticate"])["error"] == "invalid_token"


def test_the_injected_authorization_names_the_subject_and_scopes(http: httpx.Client, server: Server) -> None:
    token = server.token(sub="user-42", scope="b a")
    response = http.get("/actions/whoami", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == {"subject_id": "user-42", "scopes": ["a", "b"]}
    assert http.get("/actions/whoami").status_code == 401


def test_allow_none_is_a_403_even_with_every_scope(http: httpx.Client, server: Server) -> None:
    token = server.token(scope="orders:read orders:write")
    response = http.get("/actions/internal-only", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert response.json() == {"error": "forbidden", "message": "access is not allowed"}


def test_a_post_needs_its_own_scope(http: httpx.Client, server: Server) -> None:
    body = {"order": {"item": "tea", "quantity": 2}}
    read = http.post(
        "/actions/place-order", json=body, headers={"Authorization": f"Bearer {server.token(scope=READ_SCOPE)}"}
    )
    assert read.status_code == 403
    assert challenge_attributes(read.headers["www-authenticate"])["scope"] == "orders:write"
    write = http.post(
        "/actions/place-order", json=body, headers={"Authorization": f"Bearer {server.token(scope='orders:write')}"}
    )
    assert write.status_code == 200 and write.json() == "2 x tea"


# --- iss / aud ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def strict_server() -> Iterator[str]:
    settings = JwtSettings.from_environ(
        {"JWT_SECRET_KEY": SECRET, "JWT_ISSUER": "https://login.example", "JWT_AUDIENCE": "orders-api"}
    )
    with serve(app_with(settings)) as url:
        yield url


@pytest.mark.parametrize(
    ("claims", "status"),
    [
        ({"iss": "https://login.example", "aud": "orders-api"}, 200),
        ({"iss": "https://login.example", "aud": ["billing-api", "orders-api"]}, 200),
        ({"iss": "https://evil.example", "aud": "orders-api"}, 401),
        ({"aud": "orders-api"}, 401),
        ({"iss": "https://login.example", "aud": "billing-api"}, 401),
        ({"iss": "https://login.example"}, 401),
    ],
    ids=["match", "aud-in-list", "wrong-iss", "no-iss", "wrong-aud", "no-aud"],
)
def test_issuer_and_audience(strict_server: str, claims: dict[str, Any], status: int) -> None:
    token = sign(SECRET, scope=READ_SCOPE, **claims)
    response = httpx.get(
        f"{strict_server}/actions/list-orders", headers={"Authorization": f"Bearer {token}"}, timeout=CLIENT_TIMEOUT
    )
    assert response.status_code == status, response.text
    if status == 401:
        assert challenge_attributes(response.headers["www-authenticate"])["error"] == "invalid_token"


# --- python -m servey_faas, end to end -------------------------------------------------------------

PROTECTED_ACTIONS = textwrap.dedent(
    '''
    """A project with protected actions."""
    from servey_faas import WEB_GET, Authorization, ScopeAccessControl, action


    @action(triggers=(WEB_GET,), access_control=ScopeAccessControl("notes:read"))
    def read_notes() -> list[str]:
        return ["buy tea"]


    @action(triggers=(WEB_GET,))
    def whoami(authorization: Authorization) -> str:
        return authorization.subject_id or ""
    '''
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "notes_actions.py").write_text(PROTECTED_ACTIONS)
    return tmp_path


def child_env(**extra: str) -> dict[str, str]:
    """This environment without SERVEY_*, SERVER_* and JWT_* settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SERVEY_", "SERVER_", "JWT_"))}
    env.pop("PYTHONPATH", None)
    env.update(PYTHONUNBUFFERED="1", SERVEY_ACTION_PATH="notes_actions", **extra)
    return env


def run_cli(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "servey_faas", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=DEADLINE
    )


def test_protected_actions_without_a_key_do_not_start(project: Path) -> None:
    done = run_cli(["--run=server", "--port", "0"], project, child_env())
    assert done.returncode == 1, done.stderr
    expected = "Error: actions 'read_notes', 'whoami' need bearer tokens, but no JWT key is configured"
    assert done.stderr.startswith(expected)
    assert "JWT_SECRET_KEY" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_describing_the_app_needs_no_key(project: Path) -> None:
    done = run_cli(["--run=openapi"], project, child_env())
    assert done.returncode == 0, done.stderr
    assert "bearerAuth" in json.loads(done.stdout)["components"]["securitySchemes"]


def test_a_short_secret_does_not_start(project: Path) -> None:
    done = run_cli(["--run=server", "--port", "0"], project, child_env(JWT_SECRET_KEY="hunter2"))
    assert done.returncode == 1
    assert done.stderr.startswith("Error: the JWT secret is 7 bytes; HS256 needs at least 32 (RFC 7518 §3.2)")


def test_generate_jwt_key_is_refused_when_a_key_is_configured(project: Path) -> None:
    done = run_cli(["--run=server", "--generate-jwt-key"], project, child_env(JWT_SECRET_KEY=SECRET))
    assert done.returncode == 2
    assert "a JWT key is already configured (JWT_SECRET_KEY)" in done.stderr


@dataclass
class Started:
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., tuple[Started, str]]]:
    """``start_server(cwd, env, *args) -> (started, base_url)``: a dev server, stopped at the end."""
    started: list[Started] = []

    def start(cwd: Path, env: dict[str, str], *args: str) -> tuple[Started, str]:
        port = free_port()
        log = tmp_path / f"server-{len(started)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "servey_faas", "--run=server", "--port", str(port), *args],
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append(Started(process, log))
        url = f"http://127.0.0.1:{port}"
        wait_until_up(started[-1], url)
        return started[-1], url

    yield start
    for item in started:
        if item.process.poll() is None:
            item.process.terminate()
            try:
                item.process.wait(timeout=DEADLINE / 2)
            except subprocess.TimeoutExpired:
                item.process.kill()
                item.process.wait(timeout=DEADLINE / 2)


def wait_until_up(server: Started, url: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while True:
        if server.process.poll() is not None:
            pytest.fail(f"the server exited with {server.process.returncode}:\n{server.output()}")
        try:
            httpx.get(f"{url}/openapi.json", timeout=5.0)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer:\n{server.output()}")
            time.sleep(0.05)


def test_generate_jwt_key_prints_the_key_the_server_verifies_with(
    project: Path, start_server: Callable[..., tuple[Started, str]]
) -> None:
    started, url = start_server(project, child_env(), "--generate-jwt-key")
    match = re.search(r"^export JWT_SECRET_KEY=(\S+)$", started.output(), re.MULTILINE)
    assert match, started.output()
    key = match.group(1)
    assert len(key) >= 32
    assert "for this run only" in started.output()
    with httpx.Client(base_url=url, timeout=CLIENT_TIMEOUT) as http:
        assert http.get("/actions/read-notes").status_code == 401
        token = sign(key, scope="notes:read", sub="ann")
        response = http.get("/actions/read-notes", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200 and response.json() == ["buy tea"]
        assert http.get("/actions/whoami", headers={"Authorization": f"Bearer {token}"}).json() == "ann"
        forged = sign(SECRET, scope="notes:read")
        assert http.get("/actions/read-notes", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
        assert http.post("/debug/token", json={}).status_code == 404


def test_two_runs_generate_two_keys(project: Path, start_server: Callable[..., tuple[Started, str]]) -> None:
    keys = []
    for _ in range(2):
        started, _url = start_server(project, child_env(), "--generate-jwt-key")
        match = re.search(r"^export JWT_SECRET_KEY=(\S+)$", started.output(), re.MULTILINE)
        assert match
        keys.append(match.group(1))
    assert keys[0] != keys[1]


def test_the_dev_token_endpoint_end_to_end(project: Path, start_server: Callable[..., tuple[Started, str]]) -> None:
    started, url = start_server(project, child_env(JWT_SECRET_KEY=SECRET, SERVEY_DEBUG_AUTHENTICATOR="1"))
    assert "SERVEY_DEBUG_AUTHENTICATOR is on: POST /debug/token signs bearer tokens for ANY subject" in started.output()
    with httpx.Client(base_url=url, timeout=CLIENT_TIMEOUT) as http:
        issued = http.post("/debug/token", json={"subject_id": "ann", "scopes": ["notes:read"], "ttl": 60})
        assert issued.status_code == 200
        token = issued.json()["access_token"]
        response = http.get("/actions/read-notes", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200 and response.json() == ["buy tea"]
        wrong = http.post("/debug/token", json={"scopes": ["other"]}).json()["access_token"]
        assert http.get("/actions/read-notes", headers={"Authorization": f"Bearer {wrong}"}).status_code == 403
