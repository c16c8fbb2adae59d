"""Builders: docker and faas-cli through fake executables on PATH that record their argv; the
local builder; the remote builder against a local Function Builder (``docs/openfaas.md#function-builder-api``) that
checks the HMAC signature and streams NDJSON."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import tarfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from servey_faas.errors import BuildError, ConfigurationError
from servey_faas.faas.deploy.builders import DockerBuilder, FaasCliBuilder, LocalBuilder, RemoteBuilder
from servey_faas.faas.deploy.builders.remote import build_config, build_tar, read_payload_secret, sign
from servey_faas.testing import serve_app

from .conftest import MakeTool, Packager

# --- docker ------------------------------------------------------------------------------------


def test_docker_builds_then_pushes_the_packaged_image(packager: Packager, fake_tool: MakeTool) -> None:
    docker = fake_tool("docker")
    build = packager.build("say-hello")
    fn = build.functions[0]
    lines: list[str] = []
    builder = DockerBuilder()
    image = builder.image_for(fn)
    assert image == fn.deployment.image
    builder.build(fn, image=image, stack_file=build.stack_file, log=lines.append)
    assert docker.argvs() == [["build", "-t", image, str(fn.context)], ["push", image]]
    assert lines == ["docker step 1/2", "docker step 2/2"] * 2


def test_docker_passes_one_platform_to_build(packager: Packager, fake_tool: MakeTool) -> None:
    docker = fake_tool("docker")
    build = packager.build("say-hello")
    fn = build.functions[0]
    DockerBuilder(platform="linux/arm64").build(fn, image="r/x:1", stack_file=build.stack_file, log=lambda _: None)
    assert docker.argvs() == [["build", "-t", "r/x:1", "--platform", "linux/arm64", str(fn.context)], ["push", "r/x:1"]]


def test_docker_several_platforms_build_and_push_with_buildx(packager: Packager, fake_tool: MakeTool) -> None:
    docker = fake_tool("docker")
    build = packager.build("say-hello")
    fn = build.functions[0]
    platforms = "linux/amd64,linux/arm64"
    DockerBuilder(platform=platforms).build(fn, image="r/x:1", stack_file=build.stack_file, log=lambda _: None)
    assert docker.argvs() == [["buildx", "build", "--platform", platforms, "-t", "r/x:1", "--push", str(fn.context)]]


def test_a_failing_docker_build_names_the_command_and_its_last_lines(packager: Packager, fake_tool: MakeTool) -> None:
    docker = fake_tool("docker", exit_codes={"build -t": 3})
    build = packager.build("say-hello")
    fn = build.functions[0]
    with pytest.raises(BuildError) as caught:
        DockerBuilder().build(fn, image="r/x:1", stack_file=build.stack_file, log=lambda _: None)
    message = str(caught.value)
    assert f"docker build -t r/x:1 {fn.context}` exited with 3" in message
    assert "boom: build -t r/x:1" in message
    assert [argv[0] for argv in docker.argvs()] == ["build"]  # nothing pushed


def test_a_missing_docker_is_a_clear_error(packager: Packager, fake_tool: MakeTool) -> None:
    fake_tool("faas-cli")  # PATH now starts with a folder without docker
    build = packager.build("say-hello")
    builder = DockerBuilder(executable="docker-that-is-not-installed")
    with pytest.raises(BuildError, match="'docker-that-is-not-installed', which is not on PATH"):
        builder.build(build.functions[0], image="r/x:1", stack_file=build.stack_file, log=lambda _: None)


# --- faas-cli ----------------------------------------------------------------------------------


def test_faas_cli_builds_and_pushes_one_function_of_the_stack(packager: Packager, fake_tool: MakeTool) -> None:
    faas_cli = fake_tool("faas-cli")
    build = packager.build("say-hello", "quote-order")
    fn = build.functions[1]
    project = packager.root
    builder = FaasCliBuilder(project_dir=project)
    builder.build(fn, image=fn.deployment.image, stack_file=build.stack_file, log=lambda _: None)
    assert faas_cli.argvs() == [
        ["build", "-f", "serverless/stack.yml", "--filter", "quote-order"],
        ["push", "-f", "serverless/stack.yml", "--filter", "quote-order"],
    ]
    assert {c["cwd"] for c in faas_cli.calls()} == {str(project)}  # handler paths are relative to the project


def test_faas_cli_takes_a_stack_file_outside_the_project_by_its_absolute_path(
    packager: Packager, fake_tool: MakeTool, tmp_path: Path
) -> None:
    faas_cli = fake_tool("faas-cli")
    build = packager.build("say-hello")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    FaasCliBuilder(project_dir=elsewhere).build(
        build.functions[0], image="r/x:1", stack_file=build.stack_file, log=lambda _: None
    )
    assert faas_cli.argvs()[0] == ["build", "-f", str(build.stack_file.resolve()), "--filter", "say-hello"]


def test_faas_cli_with_platforms_publishes(packager: Packager, fake_tool: MakeTool) -> None:
    faas_cli = fake_tool("faas-cli")
    build = packager.build("say-hello")
    fn = build.functions[0]
    FaasCliBuilder(platform="linux/amd64,linux/arm64", project_dir=packager.root).build(
        fn, image=fn.deployment.image, stack_file=build.stack_file, log=lambda _: None
    )
    assert faas_cli.argvs() == [
        ["publish", "-f", "serverless/stack.yml", "--filter", "say-hello", "--platforms", "linux/amd64,linux/arm64"]
    ]


def test_a_failing_faas_cli_push_is_a_build_error(packager: Packager, fake_tool: MakeTool) -> None:
    fake_tool("faas-cli", exit_codes={"push -f": 1})
    build = packager.build("say-hello")
    fn = build.functions[0]
    with pytest.raises(BuildError, match=r"faas-cli push -f serverless/stack.yml --filter say-hello` exited with 1"):
        FaasCliBuilder(project_dir=packager.root).build(
            fn, image=fn.deployment.image, stack_file=build.stack_file, log=lambda _: None
        )


# --- local -------------------------------------------------------------------------------------


def test_local_image_is_the_build_context_as_a_file_uri(packager: Packager) -> None:
    build = packager.build("say-hello")
    fn = build.functions[0]
    builder = LocalBuilder()
    image = builder.image_for(fn)
    assert image == fn.context.resolve().as_uri()
    assert image.startswith("file:///") and image.endswith("/serverless/build/say-hello")
    assert not builder.pushes
    lines: list[str] = []
    builder.build(fn, image=image, stack_file=build.stack_file, log=lines.append)
    assert lines == [f"no image to build: the local gateway runs {image}"]


def test_local_build_needs_the_context(packager: Packager) -> None:
    build = packager.build("say-hello")
    fn = build.functions[0]
    for path in sorted(fn.context.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    fn.context.rmdir()
    with pytest.raises(BuildError, match="is not a directory"):
        LocalBuilder().build(fn, image="file:///x", stack_file=build.stack_file, log=lambda _: None)


# --- remote: tar and signature -----------------------------------------------------------------

SECRET = b"payload-s3cr3t"


def test_tar_has_the_config_at_the_root_and_the_context_under_context(packager: Packager) -> None:
    fn = packager.build("say-hello").functions[0]
    (fn.context / "run.sh").write_text("#!/bin/sh\n", encoding="utf-8")
    (fn.context / "run.sh").chmod(0o755)
    body = build_tar(fn.context, build_config("r/say-hello:1", platforms=["linux/amd64"], build_args={"B": "2"}))
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        names = tar.getnames()
        config = json.loads(tar.extractfile("com.openfaas.docker.config").read())  # type: ignore[union-attr]
        handler = tar.extractfile("context/function/handler.py").read()  # type: ignore[union-attr]
        modes = {m.name: m.mode for m in tar.getmembers()}
    assert names == [
        "com.openfaas.docker.config",
        "context",
        "context/Dockerfile",
        "context/function",
        "context/function/handler.py",
        "context/run.sh",
    ]
    assert config == {"image": "r/say-hello:1", "buildArgs": {"B": "2"}, "platforms": ["linux/amd64"]}
    assert handler == b"NAME = 'say-hello'\n"
    assert modes["context/run.sh"] == 0o755 and modes["context/Dockerfile"] == 0o644


def test_tar_is_deterministic(packager: Packager) -> None:
    fn = packager.build("say-hello").functions[0]
    first = build_tar(fn.context, build_config("r/x:1"))
    (fn.context / "Dockerfile").touch()  # a newer mtime changes nothing
    assert build_tar(fn.context, build_config("r/x:1")) == first


def test_config_leaves_out_what_is_not_set() -> None:
    assert build_config("r/x:1") == {"image": "r/x:1"}
    assert build_config("r/x:1", skip_push=True) == {"image": "r/x:1", "skipPush": True}


def test_signature_is_hmac_sha256_of_the_whole_body() -> None:
    body = b"tar bytes"
    assert sign(body, SECRET) == "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()


def test_payload_secret_is_trimmed_as_faas_cli_does(tmp_path: Path) -> None:
    path = tmp_path / "payload.txt"
    path.write_bytes(b"  payload-s3cr3t\n")
    assert read_payload_secret(path) == SECRET
    path.write_bytes(b"\n")
    with pytest.raises(ConfigurationError, match="is empty"):
        read_payload_secret(path)
    with pytest.raises(ConfigurationError, match="cannot read"):
        read_payload_secret(tmp_path / "missing")


# --- remote: against a local Function Builder --------------------------------------------------


@dataclass
class FakeFunctionBuilder:
    """A Function Builder API (``docs/openfaas.md#function-builder-api``): checks ``X-Build-Signature``, unpacks the
    tar, and answers NDJSON (``Accept: application/x-ndjson``) or one JSON object. ``fail`` makes builds fail."""

    secret: bytes = SECRET
    fail: str | None = None
    final: bool = True
    stream: bool = True
    received: list[dict[str, object]] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/build", self.build, methods=["POST"])])

    async def build(self, request: Request) -> Response:
        body = await request.body()
        expected = "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("x-build-signature", ""), expected):
            return Response("invalid signature", 401)
        with tarfile.open(fileobj=io.BytesIO(body)) as tar:
            config = json.loads(tar.extractfile("com.openfaas.docker.config").read())  # type: ignore[union-attr]
            files = sorted(m.name for m in tar.getmembers() if m.isfile())
        self.received.append({"config": config, "files": files, "content_type": request.headers["content-type"]})
        image = config["image"]
        steps = [
            {"log": ["v: [internal] load build definition from Dockerfile"], "status": "in_progress", "duration": 0.1},
            {"log": ["v: [2/3] COPY . /home/app", "v: [3/3] RUN pip install"], "status": "in_progress"},
        ]
        last: dict[str, object] = {"image": image, "status": "success", "duration": 1.5}
        if self.fail:
            last = {"image": image, "status": "failed", "error": self.fail, "duration": 1.0}
        if not self.stream or request.headers.get("accept") != "application/x-ndjson":
            logs = [line for step in steps for line in step["log"]]  # type: ignore[attr-defined]
            return Response(json.dumps({**last, "log": logs}, indent=2), 202, media_type="application/json")

        async def lines() -> AsyncIterator[str]:
            for step in steps:
                yield json.dumps(step) + "\n"
            if self.final:
                yield json.dumps(last) + "\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")


@pytest.fixture
def function_builder() -> FakeFunctionBuilder:
    return FakeFunctionBuilder()


@pytest.fixture
def builder_url(function_builder: FakeFunctionBuilder) -> Iterator[str]:
    with serve_app(function_builder.app()) as url:
        yield url


def test_remote_build_streams_the_log_and_sends_a_signed_tar(
    packager: Packager, function_builder: FakeFunctionBuilder, builder_url: str
) -> None:
    build = packager.build("say-hello")
    fn = build.functions[0]
    lines: list[str] = []
    builder = RemoteBuilder(builder_url, SECRET, platforms=("linux/amd64",))
    builder.build(fn, image=fn.deployment.image, stack_file=build.stack_file, log=lines.append)
    assert lines == [
        "v: [internal] load build definition from Dockerfile",
        "v: [2/3] COPY . /home/app",
        "v: [3/3] RUN pip install",
        f"built {fn.deployment.image}",
    ]
    assert function_builder.received == [
        {
            "config": {"image": fn.deployment.image, "platforms": ["linux/amd64"]},
            "files": ["com.openfaas.docker.config", "context/Dockerfile", "context/function/handler.py"],
            "content_type": "application/octet-stream",
        }
    ]


def test_remote_url_may_already_end_in_build(packager: Packager, builder_url: str) -> None:
    build = packager.build("say-hello")
    fn = build.functions[0]
    RemoteBuilder(builder_url + "/build/", SECRET).build(
        fn, image=fn.deployment.image, stack_file=build.stack_file, log=lambda _: None
    )


def test_remote_wrong_secret_is_refused_with_a_hint(packager: Packager, builder_url: str) -> None:
    build = packager.build("say-hello")
    fn = build.functions[0]
    with pytest.raises(BuildError, match=r"answered 401 \(a wrong payload secret\? check --payload-secret\): invalid"):
        RemoteBuilder(builder_url, b"wrong").build(
            fn, image=fn.deployment.image, stack_file=build.stack_file, log=lambda _: None
        )


def test_remote_failed_build_reports_the_builders_error(
    packager: Packager, function_builder: FakeFunctionBuilder, builder_url: str
) -> None:
    function_builder.fail = "failed to solve: pip install exited with 1"
    build = packager.build("say-hello")
    fn = build.functions[0]
    lines: list[str] = []
    with pytest.raises(BuildError, match=r"reported failed for .*: failed to solve: pip install exited with 1"):
        RemoteBuilder(builder_url, SECRET).build(
            fn, image=fn.deployment.image, stack_file=build.stack_file, log=lines.append
        )
    assert lines[-1] == "v: [3/3] RUN pip install"  # the log streamed up to the failure


def test_remote_stream_without_a_final_status_is_an_error(
    packager: Packager, function_builder: FakeFunctionBuilder, builder_url: str
) -> None:
    function_builder.final = False
    build = packager.build("say-hello")
    fn = build.functions[0]
    with pytest.raises(BuildError, match="without a final status"):
        RemoteBuilder(builder_url, SECRET).build(
            fn, image=fn.deployment.image, stack_file=build.stack_file, log=lambda _: None
        )


def test_remote_non_streaming_answer_is_understood(
    packager: Packager, function_builder: FakeFunctionBuilder, builder_url: str
) -> None:
    """A builder that does not stream answers one (here pretty-printed) JSON object
    (``docs/openfaas.md#function-builder-api``)."""
    function_builder.stream = False
    build = packager.build("say-hello")
    fn = build.functions[0]
    lines: list[str] = []
    RemoteBuilder(builder_url, SECRET).build(fn, image="r/x:1", stack_file=build.stack_file, log=lines.append)
    assert lines == [
        "v: [internal] load build definition from Dockerfile",
        "v: [2/3] COPY . /home/app",
        "v: [3/3] RUN pip install",
        "built r/x:1",
    ]


def test_remote_unreachable_builder_is_a_build_error(packager: Packager) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    build = packager.build("say-hello")
    fn = build.functions[0]
    with pytest.raises(BuildError, match=rf"the builder at http://127.0.0.1:{port}/build could not be reached"):
        RemoteBuilder(f"http://127.0.0.1:{port}", SECRET, timeout=5).build(
            fn, image="r/x:1", stack_file=build.stack_file, log=lambda _: None
        )
