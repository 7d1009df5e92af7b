"""`make package` builds both deployment descriptors offline, and both pass cfn-lint."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from infra.gate_shards import SHARD_TABLE
from infra.package import IGNORED_LINT_RULES, REPO, console_script
from infra.routes import chalice_app, function_for


def _lint_errors(template: Path) -> list[dict]:
    command = [*console_script("cfn-lint"), "--format", "json"]
    for rule in IGNORED_LINT_RULES:
        command += ["--ignore-checks", rule]
    result = subprocess.run(command + [str(template)], capture_output=True, text=True, cwd=REPO)
    findings = json.loads(result.stdout or "[]")
    return [f for f in findings if f["Level"] == "Error"]


@pytest.mark.parametrize(
    "template", [".serverless/cloudformation-template-update-stack.json", "build/chalice/sam.json"]
)
def test_cfn_lint_finds_no_errors(packaged, template):
    assert _lint_errors(REPO / template) == []


def test_serverless_template_deploys_the_functions_with_their_own_roles(packaged):
    resources = packaged.serverless["Resources"]
    api = resources["ApiLambdaFunction"]["Properties"]
    gate = resources["GateLambdaFunction"]["Properties"]
    faces = resources["FacesLambdaFunction"]["Properties"]
    assert api["Handler"] == "app.app" and api["Runtime"] == "python3.11"
    assert api["Code"]["S3Key"].endswith("/deployment.zip")  # the zip chalice package built
    for image_function in (gate, faces):
        assert image_function["PackageType"] == "Image" and "@sha256:" in image_function["Code"]["ImageUri"]
    assert api["Role"] == faces["Role"] == {"Fn::GetAtt": ["ApiFunctionRole", "Arn"]}
    assert gate["Role"] == {"Fn::GetAtt": ["GateFunctionRole", "Arn"]}
    lambdas = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    # api, gate, faces, events out (the stream consumer and its retries), and one gate per shard
    assert len(lambdas) == 5 + SHARD_TABLE.gate_shards
    for events_out in ("EventsLambdaFunction", "WebhookDashretriesLambdaFunction"):
        props = resources[events_out]["Properties"]
        assert props["Role"] == {"Fn::GetAtt": ["EventsFunctionRole", "Arn"]}, events_out
        assert props["Code"]["S3Key"].endswith("/deployment.zip") and props["Handler"].startswith(
            "chalicelib.event_stream."
        )
    mappings = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert [m["EventSourceArn"] for m in mappings] == [{"Fn::GetAtt": ["AccessEventsTable", "StreamArn"]}]
    for props in (api, gate, faces):
        env = props["Environment"]["Variables"]
        assert env["GRIDGATE_STAGE"] == "dev"
        assert env["GRIDGATE_KEYRING_SECRET_ID"] == "gridgate/dev/keyring"
    assert {"PersonsTable", "AccessEventsTable", "DataBucket", "DataKey", "KeyringSecret"} <= set(resources)


def test_every_chalice_route_reaches_the_function_that_can_serve_it(packaged):
    """Each (path, verb) of the app is an API Gateway method whose integration invokes the
    function that serves it: gate and face routes an image function, everything else the zip;
    and each gate route again under ``/shard-<n>`` invokes shard n's function."""
    resources = packaged.serverless["Resources"]

    def path_of(resource_ref: dict) -> str:
        if "Fn::GetAtt" in resource_ref:  # the REST API's root resource
            return ""
        resource = resources[resource_ref["Ref"]]["Properties"]
        return path_of(resource["ParentId"]) + "/" + resource["PathPart"]

    routed = set()
    sharded = set()
    for resource in resources.values():
        if resource["Type"] != "AWS::ApiGateway::Method" or resource["Properties"]["HttpMethod"] == "OPTIONS":
            continue
        method = resource["Properties"]
        uri = json.dumps(method["Integration"]["Uri"])
        path = path_of(method["ResourceId"]) or "/"
        if path.startswith("/shard-"):
            shard = path.split("/")[1].removeprefix("shard-")
            assert f"GateDash{shard}LambdaFunction" in uri, (path, uri)
            sharded.add((path.removeprefix(f"/shard-{shard}"), method["HttpMethod"], int(shard)))
            continue
        function = next((f for f in ("api", "gate", "faces") if f"{f.capitalize()}LambdaFunction" in uri), uri)
        routed.add((path, method["HttpMethod"], function))
    app = chalice_app()
    expected = {(path, verb, function_for(path)) for path, verbs in app.routes.items() for verb in verbs}
    assert routed == expected
    gate_routes = {(path, verb) for path, verb, function in expected if function == "gate"}
    assert sharded == {(path, verb, n) for path, verb in gate_routes for n in range(SHARD_TABLE.gate_shards)}


def test_sam_template_has_the_api_and_the_merged_infrastructure(packaged):
    resources = packaged.sam["Resources"]
    assert resources["APIHandler"]["Properties"]["Handler"] == "app.app"
    assert {"PersonsTable", "DataBucket", "KeyringSecret", "FlowsWorkerRole"} <= set(resources)


def test_api_zip_imports_with_only_the_lambda_runtime(packaged, tmp_path):
    """Unpack the zip and import the app the way Lambda does: the zip, the standard library and
    the runtime's boto3 only. A module that needs the face stack at import time fails here."""
    with zipfile.ZipFile(packaged.api_zip) as archive:
        archive.extractall(tmp_path / "task")
    site = Path(sysconfig.get_paths()["purelib"])
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    for module in ("boto3", "s3transfer"):
        (runtime / module).symlink_to(site / module)
    probe = (
        "import sys, json\n"
        f"sys.path = [{str(tmp_path / 'task')!r}, {str(runtime)!r}] + [p for p in sys.path if 'site-packages' not in p]\n"
        "import app\n"
        "print(json.dumps(sorted(app.app.routes)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"GRIDGATE_STAGE": "dev", "AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout) == sorted(chalice_app().routes)


def test_api_zip_carries_the_chart_library_the_data_center_page_loads(packaged):
    """The page loads /pages/vendor/echarts.min.js from the app: the zip must hold npm's copy."""
    npm_copy = REPO / "node_modules" / "echarts" / "dist" / "echarts.min.js"
    with zipfile.ZipFile(packaged.api_zip) as archive:
        assert archive.read("chalicelib/pages/vendor/echarts.min.js") == npm_copy.read_bytes()
