"""build(): golden stack.yml and build contexts for the demo app, determinism, options and errors."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import textwrap
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

import servey_faas
from servey_faas.app import ServeyApp
from servey_faas.errors import BuildError
from servey_faas.faas import FunctionDeployment, FunctionResources
from servey_faas.faas.deploy.packager import (
    BuildOptions,
    BuildResult,
    FunctionOptions,
    build,
    content_hash,
    context_files,
    options_from_table,
    read_build_table,
)
from servey_faas.faas.deploy.proxy import routes_json
from servey_faas.faas.deploy.stack import load_document, schema_problems
from servey_faas.web.openapi import openapi_bytes

from ..conftest import context_of
from ..support import Project, load_app, write_project

GOLDEN = Path(__file__).resolve().parent / "golden"
#: Set to 1 to rewrite the golden files from the current output (then review the diff).
UPDATE_GOLDEN = os.environ.get("SERVEY_UPDATE_GOLDEN") == "1"
_TAG = re.compile(r":[0-9a-f]{12}\"")
#: Files of a context compared byte for byte with golden/<function>/ (requirements.txt is checked
#: against servey_faas's metadata instead: it follows pyproject.toml).
GOLDEN_FILES = ("Dockerfile", ".dockerignore", "template.yml", "index.py", "function/requirements.txt")


def relocated(app: ServeyApp, project_dir: Path) -> ServeyApp:
    """``app`` with its project folder (where faas-cli runs, handler paths are relative to it) moved."""
    return dataclasses.replace(app, settings=dataclasses.replace(app.settings, project_dir=project_dir))


@pytest.fixture(scope="module")
def demo_build(demo_app: ServeyApp, tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    root = tmp_path_factory.mktemp("demo")
    return build(relocated(demo_app, root), BuildOptions(output_dir=root / "serverless", registry="ghcr.io/acme"))


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE_GOLDEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"{name} differs from the golden file (SERVEY_UPDATE_GOLDEN=1)"


def test_golden_stack_file(demo_build: BuildResult) -> None:
    text = demo_build.stack_file.read_text(encoding="utf-8")
    check_golden("stack.yml", _TAG.sub(':<content-hash>"', text))


def test_golden_trees(demo_build: BuildResult) -> None:
    lines = []
    for fn in demo_build.functions:
        for path in sorted(context_files(fn.context)):
            if not path.startswith("servey_faas/"):
                lines.append(f"{fn.name}/{path}")
        lines.append(f"{fn.name}/servey_faas/...")
    check_golden("tree.txt", "\n".join(lines) + "\n")


@pytest.mark.parametrize("function", ["say-hello", "api"])
def test_golden_context_files(demo_build: BuildResult, function: str) -> None:
    built = next(f for f in demo_build.functions if f.name == function)
    names = GOLDEN_FILES if built.action_name is None else (*GOLDEN_FILES, "schemas.json")
    for name in names:
        check_golden(f"{function}/{name.replace('.dockerignore', 'dockerignore')}", (built.context / name).read_text())


def test_every_action_context_differs_only_in_its_entrypoint_and_schemas(demo_build: BuildResult) -> None:
    contexts = [context_files(f.context) for f in demo_build.functions if f.action_name is not None]
    own = ("index.py", "schemas.json")
    first = {k: v for k, v in contexts[0].items() if k not in own}
    for files in contexts[1:]:
        assert {k: v for k, v in files.items() if k not in own} == first


def test_functions_carry_their_schemas(demo_build: BuildResult, demo_app: ServeyApp) -> None:
    """schemas.json beside index.py: the invoker's schema document and the action's name, as sorted,
    indented JSON with a trailing newline; the Dockerfile copies it. The router's holds every
    action's schema document, openapi.json beside it what /openapi.json answers, and routes.json its
    REST routes."""
    for fn in demo_build.functions:
        dockerfile = (fn.context / "Dockerfile").read_text()
        if fn.action_name is None:
            data = (fn.context / "schemas.json").read_bytes()
            documents = {name: invoker.schema_document for name, invoker in demo_app.invokers.items()}
            assert json.loads(data) == {"actions": documents}
            assert (
                data
                == (json.dumps({"actions": documents}, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()
            )
            assert (fn.context / "openapi.json").read_bytes() == openapi_bytes(demo_app)
            assert (fn.context / "routes.json").read_bytes() == routes_json(demo_app.invokers)
            assert "COPY --chown=app:app index.py template.yml schemas.json openapi.json routes.json ./\n" in dockerfile
            index = (fn.context / "index.py").read_text()
            assert '"schemas_file": os.path.join(here, "schemas.json")' in index
            assert '"openapi_file": os.path.join(here, "openapi.json")' in index
            assert '"routes_file": os.path.join(here, "routes.json")' in index
            continue
        data = (fn.context / "schemas.json").read_bytes()
        document = json.loads(data)
        assert document == {"action": fn.action_name, **demo_app.invokers[fn.action_name].schema_document}
        assert data == (json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()
        assert "COPY --chown=app:app index.py template.yml schemas.json ./\n" in dockerfile
        index = (fn.context / "index.py").read_text()
        assert 'schemas_file=os.path.join(here, "schemas.json")' in index
    # dataclasses, an enum, dates, a nested list: the whole document, byte for byte
    check_golden("quote-order/schemas.json", (context_of(demo_build, "quote_order") / "schemas.json").read_text())


def runtime_requirements(router: bool) -> list[str]:
    skipped = {
        "swagger-ui-bundle-v2",
        "croniter",
        "celery",
        "strawberry-graphql",
        "starlette",
        "uvicorn",
        "click",
        "rich",
    }
    lines = []
    for requirement in metadata.requires("servey_faas") or []:
        if "extra ==" in requirement:
            continue
        name = re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", requirement).group(0)).lower()  # type: ignore[union-attr]
        if router or name not in skipped:
            lines.append(requirement)
    return lines


def test_requirements_are_servey_faas_runtime_dependencies(demo_build: BuildResult) -> None:
    for fn in demo_build.functions:
        text = (fn.context / "requirements.txt").read_text()
        body = [line for line in text.splitlines() if not line.startswith("#")]
        assert body == runtime_requirements(router=fn.action_name is None)
    say_hello = (context_of(demo_build, "say_hello") / "requirements.txt").read_text()
    assert "waitress" in say_hello and "jsonschema" in say_hello and "httpx" in say_hello
    for heavy in ("celery", "strawberry", "swagger-ui", "croniter", "starlette", "uvicorn", "click", "rich"):
        assert heavy not in say_hello
    router = (next(f.context for f in demo_build.functions if f.action_name is None) / "requirements.txt").read_text()
    assert "starlette" in router and "uvicorn" in router and "strawberry" in router


def package_tree(skips: tuple[str, ...]) -> dict[str, bytes]:
    root = Path(servey_faas.__file__).parent
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        parts = rel.split("/")
        if not path.is_file() or "__pycache__" in parts or any(p.startswith(".") for p in parts):
            continue
        if rel.endswith(".pyc") or any(rel == s or rel.startswith(s + "/") for s in skips):
            continue
        files[f"servey_faas/{rel}"] = path.read_bytes()
    return files


def test_servey_faas_is_copied_whole_for_the_router_and_without_unused_parts_for_actions(
    demo_build: BuildResult,
) -> None:
    skips = (
        "__main__.py", "cli", "scheduling", "testing", "web/static", "web/graphql", "faas/deploy", "faas/gateway",
    )  # fmt: skip
    for fn in demo_build.functions:
        copied = {k: v for k, v in context_files(fn.context).items() if k.startswith("servey_faas/")}
        assert copied == package_tree(() if fn.action_name is None else skips)
    router = context_files(next(f.context for f in demo_build.functions if f.action_name is None))
    assert "servey_faas/web/graphql/__init__.py" in router
    assert any(k.startswith("servey_faas/web/static/") for k in router)


def test_actions_package_is_copied_into_function(demo_build: BuildResult, demo_app: ServeyApp) -> None:
    repo_actions = Path(servey_faas.__file__).resolve().parents[1] / "actions"
    files = context_files(context_of(demo_build, "say_hello"))
    copied = {k.removeprefix("function/actions/"): v for k, v in files.items() if k.startswith("function/actions/")}
    assert copied == {p.name: p.read_bytes() for p in sorted(repo_actions.glob("*.py"))}


def test_content_hash_and_image_tag(demo_build: BuildResult) -> None:
    for fn in demo_build.functions:
        assert fn.content_hash == content_hash(context_files(fn.context))
        assert fn.deployment.image == f"ghcr.io/acme/{fn.name}:{fn.content_hash[:12]}"
        assert fn.context == demo_build.stack_file.parent / "build" / fn.name
    hashes = [f.content_hash for f in demo_build.functions]
    assert len(set(hashes)) == len(hashes)


def test_the_same_app_gives_byte_identical_files(demo_app: ServeyApp, tmp_path: Path) -> None:
    snapshots = []
    for attempt in ("one", "two"):
        root = tmp_path / attempt
        result = build(relocated(demo_app, root), BuildOptions(output_dir=root / "serverless", registry="ghcr.io/acme"))
        snapshots.append((context_files(root / "serverless"), result.functions))
    (files_one, built_one), (files_two, built_two) = snapshots
    assert files_one == files_two
    assert [(f.name, f.content_hash, f.deployment) for f in built_one] == [
        (f.name, f.content_hash, f.deployment) for f in built_two
    ]


def test_rebuilding_in_place_replaces_contexts_and_removes_stale_ones(demo_app: ServeyApp, tmp_path: Path) -> None:
    app = relocated(demo_app, tmp_path)
    options = BuildOptions(output_dir=tmp_path / "serverless")
    first = build(app, options)
    before = context_files(tmp_path / "serverless")
    stray = first.functions[0].context / "function" / "stray.txt"
    stray.write_text("left by someone")
    (first.functions[0].context / "servey_faas" / "__pycache__").mkdir(exist_ok=True)
    lines: list[str] = []
    build(app, dataclasses.replace(options, router=False), progress=lines.append)
    assert not (tmp_path / "serverless" / "build" / "api").exists()
    removed = tmp_path / "serverless" / "build" / "api"
    assert f"removed {removed} (the app no longer declares function api)" in lines
    build(app, options)
    assert context_files(tmp_path / "serverless") == before


def test_stack_entries_are_the_deployments(demo_build: BuildResult) -> None:
    document = load_document(demo_build.stack_file.read_text())
    assert schema_problems(document) == []
    assert document["version"] == "1.0" and document["provider"] == {"name": "openfaas"}
    assert list(document["functions"]) == sorted(f.name for f in demo_build.functions)
    for fn in demo_build.functions:
        entry = document["functions"][fn.name]
        assert entry["lang"] == "dockerfile"
        assert entry["handler"] == f"./serverless/build/{fn.name}"  # relative to the project folder
        assert_entry_is_deployment(entry, fn.deployment)


def assert_entry_is_deployment(entry: dict[str, Any], deployment: FunctionDeployment) -> None:
    """The stack entry says exactly what ``deployment`` says (faas-cli deploy sends it,
    ``docs/openfaas.md#what-faas-cli-deploy-sends``)."""
    wire = deployment.to_wire()
    assert entry["image"] == wire["image"]
    assert entry.get("fprocess") == wire.get("envProcess")
    assert entry.get("namespace") == wire.get("namespace")
    assert entry.get("environment") == wire.get("envVars")
    assert entry.get("secrets") == wire.get("secrets")
    assert entry.get("labels") == wire.get("labels")
    assert entry.get("annotations") == wire.get("annotations")
    assert entry.get("limits") == wire.get("limits")
    assert entry.get("requests") == wire.get("requests")
    assert entry.get("constraints") == wire.get("constraints")


def test_demo_deployments(demo_build: BuildResult) -> None:
    say_hello = next(f for f in demo_build.functions if f.action_name == "say_hello")
    assert say_hello.name == "say-hello"
    assert say_hello.deployment == FunctionDeployment(
        service="say-hello",
        image=say_hello.deployment.image,
        env_process="python index.py",
        env_vars={
            "OPENFAAS_URL": "http://gateway.openfaas:8080",  # background channels queue through it
            "exec_timeout": "30s",
            "read_timeout": "35s",
            "write_timeout": "35s",
        },
    )
    router = demo_build.functions[-1]
    assert (router.name, router.action_name) == ("api", None)
    assert router.deployment.env_vars == {
        "OPENFAAS_URL": "http://gateway.openfaas:8080",
        "SERVEY_ROUTER_MODE": "gateway",
        "exec_timeout": "35s",
        "read_timeout": "40s",
        "write_timeout": "40s",
    }


def test_test_app_schedules_timeouts_and_entrypoints(test_build: BuildResult) -> None:
    by_action = {f.action_name: f for f in test_build.functions}
    assert by_action["tick"].deployment.annotations == {"schedule": "*/5 * * * *", "topic": "cron-function"}
    assert by_action["slow_tick"].deployment.annotations == {"schedule": "@every 1m30s", "topic": "cron-function"}
    assert by_action["report"].deployment.annotations == {"schedule": "0 9 * * MON-FRI", "topic": "cron-function"}
    assert by_action["greet"].deployment.annotations is None
    assert by_action["move"].deployment.env_vars["exec_timeout"] == "2s500ms"
    assert by_action["report"].deployment.env_vars["write_timeout"] == "1m35s"
    router = by_action[None]
    assert router.deployment.env_vars["exec_timeout"] == "1m35s"  # the slowest action plus a margin
    index = (by_action["move"].context / "index.py").read_text()
    assert 'run("svf_packaging_test_actions", "move", sys.argv[1:], schemas_file=' in index
    assert test_build.warnings == ()


def test_options_become_labels_environment_secrets_and_resources(test_app: ServeyApp, tmp_path: Path) -> None:
    options = BuildOptions(
        output_dir=tmp_path / "out",
        prefix="shop-",
        registry="registry.test:5000/team/",
        namespace="staging",
        gateway="http://gateway.test:8080",
        function_auth=True,
        defaults=FunctionOptions(
            scale_min=1,
            scale_max=5,
            environment={"LOG_LEVEL": "info", "PRICE": "5$"},
            secrets=("api-key",),
            limits=FunctionResources(memory="256Mi"),
            labels={"team": "shop"},
        ),
        functions={
            "greet": FunctionOptions(
                scale_zero=True, scale_max=2, secrets=("greeting-key",), limits=FunctionResources(cpu="200m")
            ),
            "api": FunctionOptions(requests=FunctionResources(memory="64Mi"), annotations={"owner": "web"}),
        },
        requirements=("requests>=2",),
    )
    lines: list[str] = []
    result = build(test_app, options, progress=lines.append)
    by_action = {f.action_name: f for f in result.functions}
    greet = by_action["greet"].deployment
    assert greet.service == "shop-greet"
    assert greet.image.startswith("registry.test:5000/team/shop-greet:")
    assert greet.namespace == "staging"
    assert greet.labels == {
        "com.openfaas.scale.max": "2",
        "com.openfaas.scale.min": "1",
        "com.openfaas.scale.zero": "true",
        "team": "shop",
    }
    assert greet.secrets == ("api-key", "greeting-key")
    assert greet.limits == FunctionResources(memory="256Mi", cpu="200m")
    assert greet.env_vars["jwt_auth"] == "true" and greet.env_vars["PRICE"] == "5$"
    assert greet.env_vars["SERVEY_FUNCTION_PREFIX"] == "shop-"  # so its background calls name functions
    assert greet.env_vars["SERVEY_FUNCTION_NAMESPACE"] == "staging"
    router = by_action[None].deployment
    assert router.service == "shop-api"
    assert router.annotations == {"owner": "web"}
    assert router.requests == FunctionResources(memory="64Mi")
    assert router.env_vars["SERVEY_FUNCTION_AUTH"] == "true"  # calls the actions with function tokens
    assert "jwt_auth" not in router.env_vars  # the public entrypoint: verifies end users' tokens itself
    assert router.env_vars["SERVEY_FUNCTION_NAMESPACE"] == "staging"
    assert 'prefix="shop-"' in (by_action[None].context / "index.py").read_text()
    assert (by_action["greet"].context / "function" / "requirements.txt").read_text().endswith("\nrequests>=2\n")
    # scheduled actions with jwt_auth: the CE cron-connector sends no token
    # (``docs/openfaas.md#discovery-invocation-and-auth``)
    assert len(result.warnings) == 3 and all("cron-connector" in w for w in result.warnings)
    assert [line for line in lines if line.startswith("warning: ")] == [f"warning: {w}" for w in result.warnings]
    text = result.stack_file.read_text()
    assert 'PRICE: "5$$"' in text
    document = load_document(text)
    assert document["provider"]["gateway"] == "http://gateway.test:8080"
    for fn in result.functions:
        assert_entry_is_deployment(document["functions"][fn.name], fn.deployment)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"registry": "GHCR.io/Acme"}, "registry 'GHCR.io/Acme' is not an image prefix"),
        ({"registry": "ghcr.io/acme:v1"}, "is not an image prefix"),
        ({"prefix": "Shop_"}, "function name 'Shop_greet' \\(from action 'greet'\\) is not a DNS-1123 label"),
        ({"prefix": "x" * 60}, "is not a DNS-1123 label"),
        ({"namespace": "Open_FaaS"}, "namespace 'Open_FaaS' is not a DNS-1123 label"),
        ({"python_version": "3"}, "python_version '3'"),
        ({"defaults": FunctionOptions(scale_min=0)}, "function 'greet': scale_min must be a whole number"),
        ({"defaults": FunctionOptions(scale_min=3, scale_max=2)}, "scale_min 3 is above scale_max 2"),
        ({"defaults": FunctionOptions(environment={"exec_timeout": "9s"})}, "'exec_timeout' is set by servey_faas"),
        ({"defaults": FunctionOptions(environment={"jwt_auth": "false"})}, "'jwt_auth' is set by servey_faas"),
        ({"defaults": FunctionOptions(environment={"A=B": "x"})}, "environment 'A=B' must be a variable name"),
        ({"defaults": FunctionOptions(secrets=("API_KEY",))}, "secret 'API_KEY' is not a valid secret name"),
        ({"functions": {"nope": FunctionOptions()}}, "options name functions the app does not have: nope"),
        ({"requirements": ("a\nb",)}, "must be one non-empty line"),
        ({"copy": ("../elsewhere",)}, "must be inside the project folder"),
        ({"copy": (".",)}, "not the folder itself"),
        ({"copy": ("missing.txt",)}, "copy path 'missing.txt' does not exist"),
    ],
)
def test_bad_options_are_refused_with_the_field_named(
    test_app: ServeyApp, tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(BuildError, match=message):
        build(test_app, BuildOptions(output_dir=tmp_path / "out", **options))
    assert not (tmp_path / "out").exists()  # refused before anything is written


def test_copy_paths_go_into_function(test_app: ServeyApp, test_project: Project, tmp_path: Path) -> None:
    (test_project.root / "shared").mkdir(exist_ok=True)
    (test_project.root / "shared" / "data.json").write_text("{}")
    result = build(test_app, BuildOptions(output_dir=tmp_path / "out", copy=("shared",), router=False))
    assert (result.functions[0].context / "function" / "shared" / "data.json").read_text() == "{}"


ACTIONS_WITH_BAD_NAMES = {
    "private": (
        "@action\ndef _hidden() -> int:\n    return 1\n",
        r"function name '-hidden' \(from action '_hidden'\)",
    ),
    "collision": (
        "@action\ndef say_hello() -> int:\n    return 1\n\n\n@action\ndef Say_Hello() -> int:\n    return 2\n",
        "actions 'say_hello' and 'Say_Hello' both become function 'say-hello'",
    ),
    "router": (
        "@action\ndef api() -> int:\n    return 1\n",
        "action 'api' becomes function 'api', the API router's name",
    ),
    "rate": (
        "from servey_faas import FixedRateTrigger\n\n\n@action(triggers=(FixedRateTrigger(0.5),))\n"
        "def fast() -> int:\n    return 1\n",
        "action 'fast': every 0.5s is faster than cron-connector runs",
    ),
}


@pytest.mark.parametrize("case", sorted(ACTIONS_WITH_BAD_NAMES))
def test_actions_that_cannot_be_packaged(case: str, tmp_path: Path) -> None:
    source, message = ACTIONS_WITH_BAD_NAMES[case]
    project = write_project(tmp_path, f"svf_bad_{case}", "from servey_faas import action\n\n\n" + source)
    with pytest.raises(BuildError, match=message):
        build(load_app(project), BuildOptions(output_dir=tmp_path / "serverless"))
    assert not (tmp_path / "serverless").exists()  # nothing half-written


def test_folders_servey_faas_did_not_write_are_never_replaced(test_app: ServeyApp, tmp_path: Path) -> None:
    foreign = tmp_path / "out" / "build" / "shop-greet"
    foreign.mkdir(parents=True)
    (foreign / "main.go").write_text("package main")
    with pytest.raises(BuildError, match="exists and was not written by servey_faas: refusing to replace it"):
        build(test_app, BuildOptions(output_dir=tmp_path / "out", prefix="shop-"))
    assert (foreign / "main.go").exists()
    other = tmp_path / "other"
    (other / "build" / "mine").mkdir(parents=True)
    (other / "build" / "mine" / "x").write_text("x")
    build(test_app, BuildOptions(output_dir=other))
    assert (other / "build" / "mine" / "x").exists()  # not ours: never removed as stale
    hand_written = tmp_path / "hand" / "stack.yml"
    hand_written.parent.mkdir()
    hand_written.write_text("version: 1.0\n")
    with pytest.raises(BuildError, match=r"stack\.yml exists and was not written by servey_faas"):
        build(test_app, BuildOptions(output_dir=hand_written.parent))


def test_options_from_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [tool.servey_faas.build]
            registry = "ghcr.io/acme"
            function_auth = true
            router = false
            scale_min = 2
            limits = {memory = "128Mi"}
            environment = {LOG_LEVEL = "debug"}
            secrets = ["api-key"]
            requirements = ["requests"]

            [tool.servey_faas.build.functions.say_hello]
            scale_zero = true
            annotations = {owner = "me"}
            """
        )
    )
    kwargs = options_from_table(read_build_table(tmp_path))
    options = BuildOptions(**kwargs)
    assert (options.registry, options.function_auth, options.router) == ("ghcr.io/acme", True, False)
    assert options.requirements == ("requests",)
    assert options.defaults == FunctionOptions(
        scale_min=2, limits=FunctionResources(memory="128Mi"), environment={"LOG_LEVEL": "debug"}, secrets=("api-key",)
    )
    assert options.for_function("say_hello") == FunctionOptions(
        scale_min=2,
        scale_zero=True,
        limits=FunctionResources(memory="128Mi"),
        environment={"LOG_LEVEL": "debug"},
        secrets=("api-key",),
        annotations={"owner": "me"},
    )
    assert read_build_table(tmp_path / "nowhere") == {}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"registy": "x"}, "unknown keys registy"),
        ({"router": "yes"}, "router must be bool"),
        ({"scale_min": True}, "scale_min must be int"),
        ({"limits": {"gpu": "1"}}, "memory and cpu only, not gpu"),
        ({"secrets": "api-key"}, "secrets must be a list of strings"),
        ({"functions": {"a": {"scale": 1}}}, r"functions.a: unknown keys scale"),
        ({"functions": ["a"]}, "functions must be a table of tables"),
        ({"environment": {"A": 1}}, "environment.A must be str"),
    ],
)
def test_bad_pyproject_tables_name_the_key(table: dict[str, Any], message: str) -> None:
    with pytest.raises(BuildError, match=message):
        options_from_table(table)
