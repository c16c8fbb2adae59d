"""The ``remote`` builder: the OpenFaaS Function Builder API (``pro-builder``,
``docs/openfaas.md#function-builder-api``).

One ``POST {builder}/build`` per function: an uncompressed tar holding the build config
(``com.openfaas.docker.config``) and the build context under ``context/``, signed with
``X-Build-Signature: sha256=<hex HMAC-SHA256(tar, payload secret)>``, answered with a stream of
NDJSON status lines (``Accept: application/x-ndjson``) whose ``log`` lines are shown as progress.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import stat
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from servey_faas.errors import BuildError, ConfigurationError
from servey_faas.faas.deploy.builders.base import LogSink

if TYPE_CHECKING:
    from servey_faas.faas.deploy.packager import BuiltFunction

#: The tar entry holding the build config (``docs/openfaas.md#function-builder-api``), at the tar root, outside
#: ``context/``.
CONFIG_ENTRY = "com.openfaas.docker.config"
#: The folder of the tar that holds the build context (``docs/openfaas.md#function-builder-api``).
CONTEXT_DIR = "context"
#: The header carrying the HMAC of the whole tar (``docs/openfaas.md#function-builder-api``).
SIGNATURE_HEADER = "X-Build-Signature"

_FINAL_OK = "success"
_IN_PROGRESS = "in_progress"


def read_payload_secret(path: Path) -> bytes:
    """The builder's payload secret from ``path``, surrounding whitespace trimmed as faas-cli
    does (``docs/openfaas.md#function-builder-api``).

    :raises ConfigurationError: when the file cannot be read or is empty.
    """
    try:
        secret = path.read_bytes().strip()
    except OSError as e:
        raise ConfigurationError(f"cannot read the builder's payload secret {path}: {e.strerror or e}") from e
    if not secret:
        raise ConfigurationError(f"the builder's payload secret file {path} is empty")
    return secret


def sign(payload: bytes, secret: bytes) -> str:
    """``sha256=<hex HMAC-SHA256(payload, key=secret)>``: the ``X-Build-Signature`` value
    (``docs/openfaas.md#function-builder-api``)."""
    return "sha256=" + hmac.new(secret, payload, hashlib.sha256).hexdigest()


def build_config(
    image: str, *, platforms: Iterable[str] = (), build_args: Mapping[str, str] | None = None, skip_push: bool = False
) -> dict[str, Any]:
    """The ``com.openfaas.docker.config`` object (``docs/openfaas.md#function-builder-api``): ``image`` always;
    ``buildArgs``, ``platforms`` and ``skipPush`` only when set (Go ``omitempty``)."""
    config: dict[str, Any] = {"image": image}
    if build_args:
        config["buildArgs"] = dict(sorted(build_args.items()))
    platforms = [p for p in platforms if p]
    if platforms:
        config["platforms"] = platforms
    if skip_push:
        config["skipPush"] = True
    return config


def build_tar(context: Path, config: Mapping[str, Any]) -> bytes:
    """The request body (``docs/openfaas.md#function-builder-api``): an uncompressed tar with
    ``com.openfaas.docker.config`` at its root and every file and folder of ``context`` under ``context/``.
    Deterministic: entries sorted, times, owners and modes normalised (0644, or 0755 for folders and executables),
    symlinks kept as links.

    :raises BuildError: when ``context`` is not a directory.
    """
    if not context.is_dir():
        raise BuildError(f"the build context {context} is not a directory")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        data = json.dumps(dict(config), separators=(",", ":")).encode()
        _add_bytes(tar, CONFIG_ENTRY, data, 0o644)
        _add_dir(tar, CONTEXT_DIR)
        for path in sorted(context.rglob("*"), key=lambda p: p.relative_to(context).as_posix()):
            name = f"{CONTEXT_DIR}/{path.relative_to(context).as_posix()}"
            if path.is_symlink():
                info = _info(name, 0o777)
                info.type = tarfile.SYMTYPE
                info.linkname = str(path.readlink())
                tar.addfile(info)
            elif path.is_dir():
                _add_dir(tar, name)
            elif path.is_file():
                executable = path.stat().st_mode & stat.S_IXUSR
                _add_bytes(tar, name, path.read_bytes(), 0o755 if executable else 0o644)
    return buffer.getvalue()


def _info(name: str, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mode = mode
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = _info(name, 0o755)
    info.type = tarfile.DIRTYPE
    tar.addfile(info)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    info = _info(name, mode)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


@dataclass(frozen=True)
class RemoteBuilder:
    """Builds on an OpenFaaS Function Builder (``pro-builder``, ``docs/openfaas.md#function-builder-api``).

    ``url`` is the builder's base URL (``http://pro-builder.openfaas:8080`` in-cluster); the
    request goes to ``{url}/build`` (a URL already ending in ``/build`` is used as is).
    ``payload_secret`` is the HMAC key (see :func:`read_payload_secret`); ``platforms`` and
    ``build_args`` go into the build config. ``timeout`` (seconds) bounds connecting and the
    wait for each line of the build log; ``transport`` replaces the network in tests.
    """

    url: str
    payload_secret: bytes = field(repr=False)
    platforms: tuple[str, ...] = ()
    build_args: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 600.0
    transport: httpx.BaseTransport | None = None

    @property
    def name(self) -> str:
        return "remote"

    @property
    def pushes(self) -> bool:
        return True

    @property
    def build_url(self) -> str:
        base = self.url.rstrip("/")
        return base if base.endswith("/build") else f"{base}/build"

    def image_for(self, function: BuiltFunction) -> str:
        return function.deployment.image

    def build(self, function: BuiltFunction, *, image: str, stack_file: Path, log: LogSink) -> None:
        """POST the signed tar of ``function.context`` and follow the NDJSON build log until
        its final status; each ``log`` line goes to ``log``.

        :raises BuildError: when the builder cannot be reached, answers non-2xx (401 for a bad
            signature), reports a status other than ``success``, or ends the stream without a
            final status.
        """
        body = build_tar(function.context, build_config(image, platforms=self.platforms, build_args=self.build_args))
        headers = {
            "Content-Type": "application/octet-stream",
            "Accept": "application/x-ndjson",
            SIGNATURE_HEADER: sign(body, self.payload_secret),
        }
        url = self.build_url
        try:
            with (
                httpx.Client(transport=self.transport, timeout=httpx.Timeout(self.timeout)) as http,
                http.stream("POST", url, content=body, headers=headers) as response,
            ):
                if not response.is_success:
                    response.read()
                    raise BuildError(_refusal(url, response))
                final = _follow(response.iter_lines(), log)
        except httpx.TransportError as e:
            raise BuildError(f"the builder at {url} could not be reached: {type(e).__name__}: {e}") from e
        if final is None:
            raise BuildError(f"the builder at {url} ended the build log of {image} without a final status")
        status = str(final.get("status", ""))
        if status != _FINAL_OK:
            reason = final.get("error") or "no reason given"
            raise BuildError(f"the builder at {url} reported {status or 'no status'} for {image}: {reason}")
        built = final.get("image")
        if isinstance(built, str) and built:
            log(f"built {built}")


def _refusal(url: str, response: httpx.Response) -> str:
    text = response.text.strip()
    detail = f": {text[:300]}" if text else ""
    hint = " (a wrong payload secret? check --payload-secret)" if response.status_code == 401 else ""
    return f"the builder at {url} answered {response.status_code}{hint}{detail}"


def _follow(lines: Iterable[str], log: LogSink) -> dict[str, Any] | None:
    """Read the builder's answer: NDJSON status objects (streaming), or one JSON object (no
    streaming); send every ``log`` line on; return the final object (``status`` not
    ``in_progress``), or None when there is none."""
    pending = ""
    final: dict[str, Any] | None = None
    for raw in lines:
        pending = f"{pending}\n{raw}" if pending else raw
        try:
            item = json.loads(pending)
        except json.JSONDecodeError:
            continue  # a pretty-printed (non-streaming) answer spans lines
        pending = ""
        if not isinstance(item, dict):
            continue
        for line in item.get("log") or ():
            log(str(line).rstrip("\n"))
        if item.get("status") != _IN_PROGRESS:
            final = item
    return final
