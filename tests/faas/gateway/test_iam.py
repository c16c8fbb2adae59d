"""OpenFaaS IAM on the local gateway (``docs/openfaas.md#iam-and-function-tokens``): ``/oauth/token`` (RFC 8693), the
OIDC discovery document and JWKS, the signing key kept per state folder, gateway API tokens on ``/system/*``, and
of-watchdog's ``jwt_auth`` checks (``docs/openfaas.md#token-checks-in-of-watchdog``) in front of functions — end to end
with an app deployed by ``--run=deploy --builder local --function-auth`` and ``GatewayClient``."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from servey_faas.faas import GatewayClient, TokenAuth
from servey_faas.faas.client._errors import OAuthError
from servey_faas.faas.gateway.iam import KEY_FILE, TOKEN_DIR, LocalIAM, load_or_create_key
from servey_faas.faas.gateway.protocol import function_claim_allows, resource_matches

from .conftest import PASSWORD, USER, CallbackReceiver, RunningGateway

GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"


class _Static:
    """A token source with a fixed value (the gateway's basic-auth password as the subject)."""

    def __init__(self, value: str) -> None:
        self.value = value

    def token(self) -> str:
        return self.value


def exchange(running: RunningGateway, subject: str = PASSWORD, **fields: Any) -> httpx.Response:
    form = {"grant_type": GRANT, "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
            "subject_token": subject, **fields}  # fmt: skip
    return httpx.post(f"{running.url}/oauth/token", data=form)


def function_token(running: RunningGateway, *audience: str) -> str:
    response = exchange(running, scope="function", audience=list(audience))
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_discovery_and_jwks_verify_an_issued_token(running: RunningGateway) -> None:
    discovery = httpx.get(f"{running.url}/.well-known/openid-configuration")
    assert discovery.status_code == 200
    document = discovery.json()
    assert document["issuer"] == running.url
    assert document["token_endpoint"] == f"{running.url}/oauth/token"
    jwks = httpx.get(document["jwks_uri"])
    assert jwks.status_code == 200
    [key] = jwks.json()["keys"]
    assert key["kty"] == "EC" and key["crv"] == "P-256" and key["alg"] == "ES256" and "d" not in key

    response = exchange(running, scope="function", audience=["openfaas-fn:echo", "openfaas-fn:other"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["scope"] == "function"
    token = body["access_token"]
    assert jwt.get_unverified_header(token)["kid"] == key["kid"]
    claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=["ES256"], audience=running.url, issuer=running.url)
    assert claims["sub"] == USER
    assert claims["function"] == {"permissions": ["*"], "audience": ["openfaas-fn:echo", "openfaas-fn:other"]}
    assert claims["exp"] - claims["iat"] == 3600
    # no scope: a gateway API token (``docs/openfaas.md#gateway-tokens-and-function-tokens``)
    api = exchange(running).json()["access_token"]
    assert "function" not in jwt.decode(api, jwt.PyJWK(key).key, algorithms=["ES256"], audience=running.url)


def test_token_endpoint_errors(running: RunningGateway) -> None:
    def error(response: httpx.Response) -> tuple[int, str]:
        return response.status_code, response.json()["error"]

    assert error(exchange(running, grant_type="client_credentials")) == (400, "unsupported_grant_type")
    assert error(exchange(running, subject="")) == (400, "invalid_request")
    unknown = exchange(running, subject="not-the-password")
    assert unknown.status_code == 400
    assert unknown.json() == {
        "error": "invalid_request",
        "error_description": "No policies found for subject: not-the-…",
    }
    # a function token is no subject (only gateway API tokens are,
    # ``docs/openfaas.md#gateway-tokens-and-function-tokens``)
    assert error(exchange(running, subject=function_token(running, "openfaas-fn:echo"))) == (400, "invalid_request")
    assert error(exchange(running, scope="admin")) == (400, "invalid_scope")
    assert error(exchange(running, scope="function", audience="echo")) == (400, "invalid_target")
    assert error(exchange(running, audience="openfaas-fn:echo")) == (400, "invalid_target")  # no scope
    assert httpx.get(f"{running.url}/oauth/token").status_code == 405
    # a gateway API token is a subject: exchanged for a function token
    api = exchange(running).json()["access_token"]
    assert exchange(running, subject=api, scope="function", audience="openfaas-fn:echo").status_code == 200
    # the client side raises the 400 as OAuthError (``docs/openfaas.md#token-exchange``)
    auth = TokenAuth(f"{running.url}/oauth/token", _Static("wrong"))
    with pytest.raises(OAuthError, match="No policies found"):
        auth.token()


def test_without_basic_auth_no_subject_is_trusted(tmp_path: Path) -> None:
    iam = LocalIAM(load_or_create_key(tmp_path), None)
    assert iam._subject(PASSWORD, "http://127.0.0.1:8080") is None


def test_signing_key_is_kept_0600_and_tokens_outlive_a_restart(running: RunningGateway, state_dir: Path) -> None:
    path = state_dir / KEY_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    token = function_token(running, "openfaas-fn:echo")
    kid = httpx.get(f"{running.url}/.well-known/jwks.json").json()["keys"][0]["kid"]
    again = LocalIAM(load_or_create_key(state_dir), None)  # what the next start of this state folder loads
    assert again.kid == kid
    claims = again.verify(token, running.url)
    assert isinstance(claims, dict) and claims["function"]["audience"] == ["openfaas-fn:echo"]
    assert LocalIAM(load_or_create_key(state_dir / "other"), None).verify(token, running.url) == (
        "token is unverifiable: unknown kid"
    )


def test_gateway_api_tokens_work_on_system_routes(running: RunningGateway) -> None:
    auth = TokenAuth(f"{running.url}/oauth/token", _Static(PASSWORD))
    with GatewayClient(running.url, auth, environ={}) as client:
        assert client.list_functions() == []
    fn_token = function_token(running, "openfaas-fn:echo")
    denied = httpx.get(f"{running.url}/system/functions", headers={"Authorization": f"Bearer {fn_token}"})
    assert denied.status_code == 401 and denied.text == "invalid credentials"


def test_resource_matching_is_unanchored_with_wildcards() -> None:
    assert resource_matches("*", "openfaas-fn:echo")
    assert resource_matches("openfaas-fn:*", "openfaas-fn:echo")
    # unanchored, as faas-middleware (``docs/openfaas.md#token-checks-in-of-watchdog``)
    assert resource_matches("openfaas-fn:echo", "openfaas-fn:echo-fn")
    assert not resource_matches("openfaas-fn:echo.x", "openfaas-fn:echo-x")  # "." is literal
    assert not resource_matches("staging:*", "openfaas-fn:echo")
    assert function_claim_allows({"permissions": ["openfaas-fn:*"], "audience": []}, "openfaas-fn", "echo")
    assert not function_claim_allows({"permissions": [], "audience": ["openfaas-fn:echo"]}, "openfaas-fn", "echo")
    assert not function_claim_allows({"permissions": ["*"], "audience": ["openfaas-fn:x"]}, "openfaas-fn", "echo")
    assert not function_claim_allows(None, "openfaas-fn", "echo")


def test_jwt_auth_functions_get_the_watchdog_checks(
    running: RunningGateway, function_context: Callable[[str], Path], state_dir: Path
) -> None:
    running.deploy("echo", function_context("echo"), envVars={"jwt_auth": "true"})
    running.deploy("open", function_context("open"))
    url = running.url

    missing = httpx.post(f"{url}/function/echo", content=b"{}")
    assert missing.status_code == 401
    assert missing.text == "Bearer must be present in Authorization header\n"
    assert missing.headers["www-authenticate"] == "Bearer realm=IAM function invoke"
    assert missing.headers["x-openfaas-internal"] == "faas-middleware"
    assert missing.headers["content-type"] == "text/plain; charset=utf-8"
    assert missing.headers["x-content-type-options"] == "nosniff"
    assert "x-call-id" in missing.headers  # the gateway's headers are still added
    lower = httpx.post(f"{url}/function/echo", headers={"Authorization": f"bearer {function_token(running)}"})
    assert lower.status_code == 401  # the prefix is case-sensitive (``docs/openfaas.md#token-checks-in-of-watchdog``)

    def call(token: str, path: str = "") -> httpx.Response:
        return httpx.post(f"{url}/function/echo{path}", content=b"{}", headers={"Authorization": f"Bearer {token}"})

    bad = call("not-a-jwt")
    assert (bad.status_code, bad.text) == (401, "failed to parse JWT token: token is malformed\n")
    key = load_or_create_key(state_dir)
    kid = httpx.get(f"{url}/.well-known/jwks.json").json()["keys"][0]["kid"]
    now = int(time.time())
    base = {"iss": url, "aud": [url], "function": {"permissions": ["*"], "audience": []}}
    expired = jwt.encode({**base, "exp": now - 60}, key, algorithm="ES256", headers={"kid": kid})
    assert call(expired).text == "failed to parse JWT token: token has invalid claims: token is expired\n"
    other_issuer = jwt.encode({**base, "iss": "http://elsewhere"}, key, algorithm="ES256", headers={"kid": kid})
    assert call(other_issuer).text == "failed to parse JWT token: token has invalid claims: token has invalid issuer\n"
    no_exp = jwt.encode(base, key, algorithm="ES256", headers={"kid": kid})
    # a token without exp is accepted (``docs/openfaas.md#token-checks-in-of-watchdog``)
    assert call(no_exp).status_code == 200

    forbidden = call(function_token(running, "openfaas-fn:other"))
    assert (forbidden.status_code, forbidden.text) == (403, "insufficient permissions\n")
    assert "www-authenticate" not in forbidden.headers
    api = exchange(running).json()["access_token"]
    assert call(api).status_code == 403  # no function claim: no permissions

    allowed = call(function_token(running, "openfaas-fn:echo"), "/sub?x=1")
    assert allowed.status_code == 200, allowed.text
    seen = allowed.json()
    # kept (``docs/openfaas.md#token-checks-in-of-watchdog``)
    assert seen["path"] == "/sub" and seen["headers"]["authorization"].startswith("Bearer ")
    assert float(seen["headers"]["x-auth-seconds"]) >= 0
    assert call(function_token(running, "openfaas-fn:*")).status_code == 200
    assert call(function_token(running)).status_code == 200  # no audience: any function
    # exempt (``docs/openfaas.md#token-checks-in-of-watchdog``)
    assert httpx.get(f"{url}/function/echo/_/ready").status_code == 200
    assert httpx.post(f"{url}/function/open", content=b"{}").status_code == 200  # without jwt_auth: unchanged


APP = '''"""A small app for the function-auth test."""

from servey_faas import WEB_GET, Example, action


@action(triggers=(WEB_GET,), examples=(Example(name="world", params={"name": "World"}, result="Hello World!"),))
def say_hello(name: str) -> str:
    """Greet a user by name."""
    return f"Hello {name}!"
'''


def test_function_auth_end_to_end(tmp_path: Path, running: RunningGateway, state_dir: Path) -> None:
    project = tmp_path / "project"
    (project / "actions").mkdir(parents=True)
    (project / "actions" / "__init__.py").write_text("")
    (project / "actions" / "greetings.py").write_text(APP)
    # the router calls the actions through this gateway, with function tokens it exchanges for its
    # service account token (token_mount_path/openfaas-token, ``docs/openfaas.md#upstream-token-sources``)
    (project / "pyproject.toml").write_text(f'[tool.servey_faas.build]\nrouter_gateway = "{running.url}"\n')
    config = tmp_path / "faas-config"
    config.mkdir()
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (config / "config.yml").write_text(f"auths:\n- gateway: {running.url}\n  auth: basic\n  token: {basic}\n")
    env = {**os.environ, "OPENFAAS_CONFIG": str(config), "OPENFAAS_URL": running.url, "SERVEY_ACTION_PATH": "actions"}
    deployed = subprocess.run(
        [sys.executable, "-m", "servey_faas", "--run=deploy", "--builder", "local", "--function-auth",
         "--gateway", running.url, "-q"],
        cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    statuses = running.http.get("/system/functions").json()
    [name] = [s["name"] for s in statuses if s["envVars"].get("SERVEY_ROUTER_MODE") is None]
    [router] = [s["name"] for s in statuses if s["name"] != name]
    # the action's function answers function tokens only; the router is the public entrypoint
    by_name = {s["name"]: s["envVars"] for s in statuses}
    assert by_name[name]["jwt_auth"] == "true" and "jwt_auth" not in by_name[router]
    running.wait_available(name)
    running.wait_available(router)

    assert httpx.get(f"{running.url}/function/{name}", params={"name": "World"}).status_code == 401
    wrong = httpx.get(f"{running.url}/function/{name}", params={"name": "World"},
                      headers={"Authorization": f"Bearer {function_token(running, 'openfaas-fn:other')}"})  # fmt: skip
    assert wrong.status_code == 403

    auth = TokenAuth(f"{running.url}/oauth/token", _Static(PASSWORD))
    with GatewayClient(running.url, auth, function_auth=True, environ={}) as client:
        response = client.invoke(name, {"name": "World"})
        assert response.status_code == 200
        assert response.json() == "Hello World!"
        # the same client without function auth sends no token: the watchdog check answers 401
        with pytest.raises(Exception) as refused:
            client.invoke(name, {"name": "World"}, function_auth=False)
        assert "401" in str(refused.value)

    # every function gets a service account token (``docs/openfaas.md#upstream-token-sources``) the gateway trusts as a
    # subject: the router exchanges its own for function tokens of the actions it calls
    token_file = state_dir / TOKEN_DIR / "openfaas-fn" / router / "openfaas-token"
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    exchanged = exchange(running, subject=token_file.read_text(), scope="function", audience=f"openfaas-fn:{name}")
    assert exchanged.status_code == 200, exchanged.text
    answer = httpx.get(f"{running.url}/function/{name}", params={"name": "World"},
                       headers={"Authorization": f"Bearer {exchanged.json()['access_token']}"})  # fmt: skip
    assert (answer.status_code, answer.json()) == (200, "Hello World!")
    # a service account token gets function tokens only: no gateway API token, no /system/*
    assert exchange(running, subject=token_file.read_text()).json()["error"] == "invalid_scope"
    bearer = {"Authorization": f"Bearer {token_file.read_text()}"}
    assert httpx.get(f"{running.url}/system/functions", headers=bearer).status_code == 401
    # the router, open to end users, reaches the protected action with a function token it
    # exchanged for its service account token
    routed = httpx.get(f"{running.url}/function/{router}/actions/say-hello", params={"name": "World"}, timeout=30)
    assert (routed.status_code, routed.json()) == (200, "Hello World!")
    running.http.request("DELETE", "/system/functions", json={"functionName": router}).raise_for_status()
    assert not token_file.exists()


def test_async_invocations_of_jwt_auth_functions_are_checked_when_they_run(
    running: RunningGateway, function_context: Callable[[str], Path], callbacks: CallbackReceiver
) -> None:
    running.deploy("echo", function_context("echo"), envVars={"jwt_auth": "true"})
    token = function_token(running, "openfaas-fn:echo")
    for authorization in ({"Authorization": f"Bearer {token}"}, {}):
        accepted = httpx.post(f"{running.url}/async-function/echo", content=b"{}",
                              headers={"X-Callback-Url": callbacks.url, **authorization})  # fmt: skip
        assert accepted.status_code == 202
    allowed, refused = callbacks.wait(2)
    assert allowed.headers["x-function-status"] == "200"
    assert refused.headers["x-function-status"] == "401"
    assert refused.body == b"Bearer must be present in Authorization header\n"
