"""What the local gateway keeps across restarts, under its state folder (``--state-dir``):

* ``functions.json``: every deployment (the ``FunctionDeployment`` wire object), its creation
  time and its replica count, rewritten atomically after each change;
* ``secrets/<namespace>/<name>``: each secret's value (folders mode 0700, files mode 0600);
* ``mounts/<namespace>/<function>/``: each function's ``secret_mount_path``, holding a copy of
  the secrets it lists, one file each (mode 0600; ``docs/openfaas.md#secrets-as-files``);
* ``basic-auth-user``, ``basic-auth-password``: the gateway's credentials (``docs/openfaas.md#basic-auth-on-ce``), see
  :mod:`servey_faas.faas.gateway.credentials`.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import threading
from pathlib import Path
from typing import Any

from servey_faas.faas.client.models import FunctionDeployment, Secret, format_time, parse_time
from servey_faas.faas.gateway.provider import Deployed

_STATE_FILE = "functions.json"
_FORMAT = 1


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600 from the start (never readable by others)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        os.close(fd)


class GatewayState:
    """The deployments and secrets of the local gateway, persisted under ``root`` (created, mode
    0700). Thread-safe. Names become paths: callers pass only names
    :func:`~servey_faas.faas.gateway.provider.valid_name` accepts."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._functions: dict[tuple[str, str], Deployed] = {}

    # --- functions -----------------------------------------------------------------------------

    def load(self) -> list[Deployed]:
        """Read ``functions.json`` (none: nothing deployed) and return the deployments in it.

        :raises ValueError: when the file is not the JSON this class writes.
        """
        path = self.root / _STATE_FILE
        if not path.exists():
            return []
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("functions"), list):
            raise ValueError(f"{path} is not a servey_faas gateway state file")
        loaded = []
        for item in data["functions"]:
            spec = FunctionDeployment.from_wire(item["deployment"])
            created = parse_time(item.get("createdAt")) or datetime.datetime.now(datetime.UTC)
            loaded.append(Deployed(spec, created, int(item.get("replicas", 1))))
        with self._lock:
            self._functions = {d.key: d for d in loaded}
        return loaded

    def _save(self) -> None:
        data: dict[str, Any] = {
            "format": _FORMAT,
            "functions": [
                {"deployment": d.spec.to_wire(), "createdAt": format_time(d.created_at), "replicas": d.replicas}
                for _, d in sorted(self._functions.items())
            ],
        }
        path = self.root / _STATE_FILE
        temporary = path.with_suffix(".tmp")
        write_private(temporary, json.dumps(data, indent=1).encode())
        os.replace(temporary, path)

    def get(self, namespace: str, name: str) -> Deployed | None:
        """The deployment of ``name`` in ``namespace``, or ``None``."""
        with self._lock:
            return self._functions.get((namespace, name))

    def functions(self, namespace: str) -> list[Deployed]:
        """The deployments of ``namespace``, sorted by name."""
        with self._lock:
            return [d for (ns, _), d in sorted(self._functions.items()) if ns == namespace]

    def put(self, deployed: Deployed) -> None:
        """Add or replace ``deployed`` and persist."""
        with self._lock:
            self._functions[deployed.key] = deployed
            self._save()

    def remove(self, namespace: str, name: str) -> Deployed | None:
        """Forget ``name`` (and its secret mount), persist, and return what it was (``None``: unknown)."""
        with self._lock:
            gone = self._functions.pop((namespace, name), None)
            if gone is not None:
                self._save()
        shutil.rmtree(self.mount_path(namespace, name), ignore_errors=True)
        return gone

    # --- secrets -------------------------------------------------------------------------------

    def _secret_file(self, namespace: str, name: str) -> Path:
        return self.root / "secrets" / namespace / name

    def secret_names(self, namespace: str) -> list[str]:
        """The names of the secrets of ``namespace``, sorted."""
        folder = self.root / "secrets" / namespace
        return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []

    def set_secret(self, namespace: str, secret: Secret) -> None:
        """Store the value of ``secret`` (``raw_value`` if given, else ``value`` as UTF-8), mode
        0600, and refresh the copies mounted into functions that list it."""
        value = secret.raw_value or secret.value.encode()
        write_private(self._secret_file(namespace, secret.name), value)
        with self._lock:
            users = [d for (ns, _), d in self._functions.items() if ns == namespace and secret.name in d.spec.secrets]
        for deployed in users:
            write_private(self.mount_path(namespace, deployed.spec.service) / secret.name, value)

    def delete_secret(self, namespace: str, name: str) -> bool:
        """Remove the secret; ``False`` when there was none. Mounted copies stay until redeploy."""
        try:
            self._secret_file(namespace, name).unlink()
        except FileNotFoundError:
            return False
        return True

    def mount_path(self, namespace: str, function: str) -> Path:
        """The ``secret_mount_path`` of a function (``docs/openfaas.md#secrets-as-files``)."""
        return self.root / "mounts" / namespace / function

    def mount_secrets(self, spec: FunctionDeployment) -> tuple[Path, list[str]]:
        """Write a copy of each secret ``spec`` lists into its mount folder (emptied first, files
        mode 0600); return the folder and the names of the listed secrets that no longer exist
        (deleted since the deployment; not mounted)."""
        folder = self.mount_path(spec.namespace, spec.service)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(mode=0o700, parents=True)
        missing = []
        for name in spec.secrets:
            try:
                value = self._secret_file(spec.namespace, name).read_bytes()
            except FileNotFoundError:
                missing.append(name)
                continue
            write_private(folder / name, value)
        return folder, missing
