"""servey_faas.faas exports exactly its public names (HTTPX style), and the client's core names are there."""

import servey_faas.faas as faas

CORE_NAMES = {
    "GatewayClient", "AsyncGatewayClient", "BasicAuth", "TokenAuth", "ServiceAccountTokenSource",
    "ClientCredentialsTokenSource", "MemoryTokenCache", "FunctionDeployment", "FunctionStatus", "Secret",
    "LogEntry", "GatewayInfo", "remote",
}  # fmt: skip


def test_all_is_sorted_complete_and_importable() -> None:
    assert faas.__all__ == sorted(faas.__all__, key=lambda n: (not n.isupper(), n))
    for name in faas.__all__:  # names are resolved on first use (PEP 562)
        getattr(faas, name)
    public = {n for n in vars(faas) if not n.startswith("_")} - {"annotations"}
    modules = {n for n in public if type(getattr(faas, n)).__name__ == "module"}
    assert set(faas.__all__) == public - modules
    assert CORE_NAMES <= set(faas.__all__)


def test_errors_derive_from_the_root_tree() -> None:
    from servey_faas.errors import GatewayError, InvocationError, ServeyFaasError

    assert issubclass(faas.NotFoundError, GatewayError) and issubclass(faas.OAuthError, GatewayError)
    assert issubclass(faas.GatewayTimeoutError, faas.GatewayConnectionError)
    assert issubclass(faas.FunctionError, InvocationError) and issubclass(faas.InvalidArgumentError, ServeyFaasError)


def test_importing_the_package_does_not_import_httpx() -> None:
    """A function container imports servey_faas.faas.runtime: it must not pay for the client."""
    import subprocess
    import sys

    code = "import sys, servey_faas.faas; print('httpx' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
