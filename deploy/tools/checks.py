"""Every offline check of deploy/, callable one by one (tests feed them broken input).

``python deploy/tools/checks.py`` runs them all (``make check-deploy``) and exits non-zero
when any fails. Each check takes its input as arguments, so tests/deploy can prove it fails
on a broken rule, manifest, dashboard or metric name. Tools come from ``make deploy-tools``:
helm and kubectl in deploy/tools/bin, npm packages in deploy/tools/node_modules, PyPI tools
in the repo venv (checkov in its own venv under .venv/checkov), promtool from Debian.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
TOOLS = DEPLOY / "tools"
CHART = DEPLOY / "helm" / "handoff"
CHART_RULES = CHART / "files" / "prometheus-rules.yaml"
RULE_TESTS = DEPLOY / "prometheus" / "tests" / "rules.test.yaml"
DASHBOARDS = CHART / "dashboards"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
COMPOSE = DEPLOY / "compose" / "docker-compose.yml"
COMPOSE_PROMETHEUS = DEPLOY / "compose" / "prometheus.yml"
#: Values files the chart is rendered with: defaults, and everything switched on.
VALUES_CASES: dict[str, list[Path]] = {
    "defaults": [],
    "everything": [DEPLOY / "helm" / "ci-values.yaml"],
}
VENV_BIN = Path(sys.executable).parent
CHECKOV = REPO / ".venv" / "checkov" / "bin" / "checkov"
#: Kinds kubernetes-validate has schemas for; the CRDs go to the operator models instead.
CUSTOM_KINDS = {"KafkaTopic", "ServiceMonitor", "PrometheusRule", "ScaledObject"}
#: checkov findings we accept, each with the reason (the rest must pass).
CHECKOV_SKIPS: dict[str, str] = {
    "CKV_K8S_35": "Kafka and connector credentials come as env from a Secret, as the "
    "twelve-factor settings read them",
}
#: PromQL words that are not metric names.
_PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
    "unless", "offset", "inf", "nan", "atan2",
}  # fmt: skip


class CheckError(RuntimeError):
    """A check could not run (a tool is missing), as opposed to a check that failed."""


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        first = self.detail.strip().splitlines()[-1] if self.detail.strip() else ""
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {first}"


def tool(name: str) -> str:
    """Path of a tool: deploy/tools/bin, then the venv, then node_modules/.bin, then PATH."""
    for folder in (TOOLS / "bin", VENV_BIN, TOOLS / "node_modules" / ".bin"):
        if (folder / name).exists():
            return str(folder / name)
    found = shutil.which(name)
    if found is None:
        raise CheckError(f"{name} is not installed; run 'make deploy-tools'")
    return found


def run(
    args: Sequence[str], *, input: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed tool paths, no shell
        list(args),
        input=input,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
        cwd=REPO,
    )


def _helm_env() -> dict[str, str]:
    home = Path(tempfile.gettempdir()) / "handoff-helm"
    return {
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }


def _result(name: str, proc: subprocess.CompletedProcess[str], extra: str = "") -> Result:
    detail = (proc.stdout + proc.stderr).strip()
    return Result(name, proc.returncode == 0, f"{detail}\n{extra}".strip())


# --- Helm and Kubernetes manifests ----------------------------------------------------------


def helm_lint(chart: Path = CHART) -> Result:
    proc = run([tool("helm"), "lint", "--strict", str(chart)], env=_helm_env())
    return _result("helm lint --strict", proc)


def helm_template(chart: Path = CHART, values: Iterable[Path] = ()) -> str:
    args = [tool("helm"), "template", "handoff", str(chart), "--namespace", "handoff"]
    for path in values:
        args += ["--values", str(path)]
    proc = run(args, env=_helm_env())
    if proc.returncode != 0:
        raise CheckError(f"helm template failed: {proc.stderr.strip()}")
    return proc.stdout


def documents(rendered: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(rendered) if d]


def kubernetes_validate(rendered: str, name: str = "kubernetes-validate --strict") -> Result:
    """Core kinds against the Kubernetes schemas, unknown fields rejected."""
    docs = [d for d in documents(rendered) if d.get("kind") not in CUSTOM_KINDS]
    if not docs:
        return Result(name, False, "no core Kubernetes resources rendered")
    text = yaml.safe_dump_all(docs, sort_keys=False)
    proc = run([tool("kubernetes-validate"), "--strict", "--quiet", "-"], input=text)
    out = (proc.stdout + proc.stderr).strip()
    ok = proc.returncode == 0 and "ERROR" not in out and "FAIL" not in out
    return Result(name, ok, f"{out}\n{len(docs)} core resources checked".strip())


def operator_models(rendered: str) -> Result:
    """Strimzi and Prometheus Operator resources against @kubernetes-models."""
    docs = [d for d in documents(rendered) if d.get("kind") in CUSTOM_KINDS - {"ScaledObject"}]
    if not docs:
        return Result("Strimzi/Prometheus Operator models", False, "no custom resources")
    proc = run(["node", str(TOOLS / "validate-crds.mjs")], input=json.dumps(docs))
    detail = "\n".join(line for line in proc.stdout.splitlines() if not line.startswith("ok "))
    return Result(
        "Strimzi/Prometheus Operator models", proc.returncode == 0, detail + proc.stderr[-2000:]
    )


def prometheus_rule_specs(rendered: str) -> Result:
    """Each rendered PrometheusRule's spec is a rule file promtool accepts."""
    specs = [d["spec"] for d in documents(rendered) if d.get("kind") == "PrometheusRule"]
    if not specs:
        return Result("PrometheusRule spec (promtool)", False, "no PrometheusRule rendered")
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, spec in enumerate(specs):
            path = Path(tmp) / f"rule-{i}.yaml"
            path.write_text(yaml.safe_dump(spec), encoding="utf-8")
            files.append(str(path))
        return _result(
            "PrometheusRule spec (promtool)", run([tool("promtool"), "check", "rules", *files])
        )


def checkov(rendered: str, dockerfile: Path = DOCKERFILE) -> Result:
    """checkov's Kubernetes and Dockerfile policies, offline."""
    if not CHECKOV.exists():
        raise CheckError("checkov is not installed; run 'make deploy-tools'")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "manifests.yaml").write_text(rendered, encoding="utf-8")
        shutil.copy(dockerfile, Path(tmp) / "Dockerfile")
        proc = run(
            [
                str(CHECKOV),
                "-d",
                tmp,
                "--framework",
                "kubernetes",
                "dockerfile",
                "--compact",
                "--quiet",
                "--skip-download",
                "--skip-check",
                ",".join(CHECKOV_SKIPS),
            ],
            env={"BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
        )
    detail = (proc.stdout + proc.stderr).strip()
    return Result("checkov", proc.returncode == 0, detail or "no failed checks")


# --- Dockerfile, compose, YAML ----------------------------------------------------------------


def hadolint(dockerfile: Path = DOCKERFILE) -> Result:
    proc = run([tool("hadolint"), str(dockerfile)])
    return _result("hadolint", proc, "" if proc.returncode else "no findings")


def compose_schema(path: Path = COMPOSE) -> Result:
    proc = run([tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)])
    return _result("compose schema", proc)


def yamllint(paths: Sequence[Path] = (DEPLOY,)) -> Result:
    proc = run(
        [tool("yamllint"), "-c", str(DEPLOY / ".yamllint.yaml"), "--strict", *map(str, paths)]
    )
    return _result("yamllint", proc, "" if proc.returncode else "clean")


# --- Prometheus rules and PromQL --------------------------------------------------------------


def promtool_check_rules(*paths: Path) -> Result:
    return _result(
        "promtool check rules", run([tool("promtool"), "check", "rules", *map(str, paths)])
    )


def promtool_test_rules(*paths: Path) -> Result:
    return _result(
        "promtool test rules", run([tool("promtool"), "test", "rules", *map(str, paths)])
    )


def promtool_check_config(path: Path = COMPOSE_PROMETHEUS) -> Result:
    return _result("promtool check config", run([tool("promtool"), "check", "config", str(path)]))


def _grafana_to_promql(expr: str) -> str:
    """Grafana's macros and variables replaced so that PromQL parsers accept the text."""
    expr = re.sub(r"\$__(rate_interval|interval|range)\b", "5m", expr)
    return re.sub(r"\$\{?\w+\}?", ".*", expr)


def dashboard_exprs(paths: Iterable[Path]) -> dict[str, list[str]]:
    """Panel title (with file) to its PromQL expressions, macros substituted."""
    out: dict[str, list[str]] = {}

    def walk(panels: list[dict[str, Any]], where: str) -> None:
        for panel in panels:
            walk(panel.get("panels", []), where)
            exprs = [t["expr"] for t in panel.get("targets", []) if "expr" in t]
            if exprs:
                out[f"{where}: {panel.get('title')}"] = [_grafana_to_promql(e) for e in exprs]

    for path in paths:
        doc = json.loads(path.read_text(encoding="utf-8"))
        walk(doc.get("panels", []), path.name)
        for var in doc.get("templating", {}).get("list", []):
            query = var.get("query")
            match = re.fullmatch(r"label_values\((\w+),\s*\w+\)", str(query or ""))
            if match:
                out[f"{path.name}: variable {var['name']}"] = [match.group(1)]
    return out


def promql_parses(exprs: dict[str, list[str]], name: str = "PromQL parses") -> Result:
    """promtool parses every expression (as recording rules of a scratch file)."""
    rules = [
        {"record": f"check:expr_{i}_{j}", "expr": expr}
        for i, (_, items) in enumerate(sorted(exprs.items()))
        for j, expr in enumerate(items)
    ]
    if not rules:
        return Result(name, False, "no expressions found")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "exprs.yaml"
        path.write_text(yaml.safe_dump({"groups": [{"name": "check", "rules": rules}]}))
        proc = run([tool("promtool"), "check", "rules", str(path)])
    return _result(name, proc, f"{len(rules)} expressions")


def metric_names(expr: str) -> set[str]:
    """The metric (and recorded series) names a PromQL expression reads."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges and subqueries
    text = re.sub(
        r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text
    )  # grouping label lists
    names = set()
    for match in re.finditer(r"(?<![\w.])([A-Za-z_:][\w:]*)(\s*\()?", text):
        word, call = match.group(1), match.group(2)
        if call or word.lower() in _PROMQL_WORDS:
            continue
        names.add(word)
    return names


def recorded_series(rule_file: Path = CHART_RULES) -> set[str]:
    doc = yaml.safe_load(rule_file.read_text(encoding="utf-8"))
    return {r["record"] for g in doc["groups"] for r in g["rules"] if "record" in r}


def rule_exprs(rule_file: Path = CHART_RULES) -> dict[str, list[str]]:
    doc = yaml.safe_load(rule_file.read_text(encoding="utf-8"))
    return {
        f"{rule_file.name}: {r.get('alert') or r.get('record')}": [r["expr"]]
        for g in doc["groups"]
        for r in g["rules"]
    }


def known_metric_series() -> set[str]:
    from hub.commands.ops import known_series  # noqa: PLC0415 - needs the venv's hub

    return known_series()


def unknown_metrics(
    exprs: dict[str, list[str]], known: set[str], name: str = "metric names in catalog"
) -> Result:
    """Every name queried is a catalog series or a recording rule."""
    problems = [
        f"{where}: {metric}"
        for where, items in sorted(exprs.items())
        for expr in items
        for metric in sorted(metric_names(expr) - known)
    ]
    count = sum(len(items) for items in exprs.values())
    if not count:
        return Result(name, False, "no expressions found")
    detail = "\n".join(f"unknown metric {p}" for p in problems) or f"{count} expressions"
    return Result(name, not problems, detail)


# --- Grafana dashboard types ------------------------------------------------------------------


def dashboard_types(paths: Sequence[Path]) -> Result:
    """Each dashboard JSON type-checks as a ``Dashboard`` of @grafana/schema (tsc --strict)."""
    if not paths:
        return Result("dashboards type-check", False, "no dashboards")
    with tempfile.TemporaryDirectory(dir=TOOLS) as tmp:
        sources = []
        for i, path in enumerate(paths):
            body = path.read_text(encoding="utf-8")
            source = Path(tmp) / f"dashboard_{i}.ts"
            source.write_text(
                f'// {path.name}\nimport type {{ Dashboard }} from "@grafana/schema";\n'
                f"export const dashboard: Dashboard = {body};\n",
                encoding="utf-8",
            )
            sources.append(str(source))
        proc = run(
            [
                tool("tsc"),
                "--strict",
                "--noEmit",
                "--skipLibCheck",
                "--module",
                "nodenext",
                "--moduleResolution",
                "nodenext",
                "--target",
                "es2022",
                *sources,
            ]
        )
    return _result("dashboards type-check (@grafana/schema)", proc, f"{len(paths)} dashboards")


# --- Generated files --------------------------------------------------------------------------


def generated_files_current() -> Result:
    """docs/metrics.md, the chart's topic list and the dashboards match their sources."""
    problems = []
    for args in (["ops", "metrics-doc", "--check"], ["ops", "topics", "--check"]):
        proc = run([str(VENV_BIN / "hub"), *args])
        if proc.returncode != 0:
            problems.append(proc.stderr.strip())
    proc = run([sys.executable, str(TOOLS / "dashboards.py"), "--check"])
    if proc.returncode != 0:
        problems.append(proc.stderr.strip())
    return Result("generated files current", not problems, "\n".join(problems) or "up to date")


def chart_hub_configs(rendered: str) -> Result:
    """Every hub.yaml the chart mounts is one the hub accepts, and every raw topic its
    connector instances write is among the rendered KafkaTopics (a pod waits, not ready,
    while a topic it needs is missing). ``${VAR}`` references get a placeholder value: the
    Secret is not known here, so a reference in a field with a format (a URL) cannot be
    checked."""
    from connectors.kit.config import raw_streams  # noqa: PLC0415 - the hub's own models
    from hub.config import ConfigError, parse_config  # noqa: PLC0415
    from hub.topics import raw_topic  # noqa: PLC0415

    name = "chart hub.yaml valid, raw topics declared"
    docs = documents(rendered)
    topics = {
        d["spec"].get("topicName") or d["metadata"]["name"]
        for d in docs
        if d.get("kind") == "KafkaTopic"
    }
    configs = [
        (d["metadata"]["name"], d["data"]["hub.yaml"])
        for d in docs
        if d.get("kind") == "ConfigMap" and "hub.yaml" in (d.get("data") or {})
    ]
    if not configs:
        return Result(name, False, "no hub.yaml ConfigMap rendered")
    problems: list[str] = []
    for config_map, text in configs:
        env = {var: "set-at-deploy-time" for var in re.findall(r"\$\{(\w+)\}", text)}
        try:
            config = parse_config(text, source=f"ConfigMap {config_map}", env=env)
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        if topics:  # createTopics off: the topics are someone else's
            for instance, entity in raw_streams(config.connectors):
                if raw_topic(instance, entity) not in topics:
                    problems.append(
                        f"ConfigMap {config_map}: connector {instance} writes "
                        f"{raw_topic(instance, entity)}, which no KafkaTopic declares "
                        "(kafka.extraTopics)"
                    )
    detail = "\n".join(problems) or f"{len(configs)} hub.yaml checked"
    return Result(name, not problems, detail)


def chart_kafka_settings(rendered: str) -> Result:
    """Every Deployment's ``KAFKA_*`` environment is one the hub accepts (SASL needs a
    mechanism, a user and a password). Keys of a Secret the chart renders count as set;
    a Secret it does not render (``secret.existingSecret``) may hold any of them, so only
    what the chart sets itself is checked then."""
    from pydantic import ValidationError  # noqa: PLC0415

    from hub.runtime.settings import KafkaSettings  # noqa: PLC0415

    name = "chart Kafka settings valid"
    docs = documents(rendered)
    secrets = {
        d["metadata"]["name"]: set(d.get("stringData") or {}) | set(d.get("data") or {})
        for d in docs
        if d.get("kind") == "Secret"
    }
    problems: list[str] = []
    checked = 0
    for d in docs:
        if d.get("kind") != "Deployment":
            continue
        for container in d["spec"]["template"]["spec"]["containers"]:
            env = {e["name"]: e.get("value", "") for e in container.get("env") or ()}
            opaque = False
            for source in container.get("envFrom") or ():
                ref = (source.get("secretRef") or {}).get("name")
                if ref in secrets:
                    env |= {key: "from-the-secret" for key in secrets[ref]}
                elif ref:
                    opaque = True
            values = {
                key.removeprefix("KAFKA_").lower(): value
                for key, value in env.items()
                if key.startswith("KAFKA_")
            }
            cafile = values.pop("ssl_cafile", None)  # a file of the pod, not of this machine
            mounts = [m["mountPath"] for m in container.get("volumeMounts") or ()]
            if cafile and not any(cafile.startswith(m.rstrip("/") + "/") for m in mounts):
                problems.append(
                    f"Deployment {d['metadata']['name']}: KAFKA_SSL_CAFILE {cafile} is on "
                    "no volume the container mounts"
                )
            if opaque:  # the unrendered Secret may hold the credentials
                for field in ("sasl_mechanism", "sasl_username", "sasl_password"):
                    values.setdefault(field, "SCRAM-SHA-512" if field == "sasl_mechanism" else "x")
            checked += 1
            try:
                KafkaSettings.model_validate(values)
            except ValidationError as exc:
                for error in exc.errors():
                    problems.append(f"Deployment {d['metadata']['name']}: {error['msg']}")
    if not checked:
        return Result(name, False, "no Deployment rendered")
    return Result(name, not problems, "\n".join(problems) or f"{checked} containers checked")


# --- All of them ------------------------------------------------------------------------------


def all_checks() -> list[Callable[[], Result | list[Result]]]:
    dashboards = sorted(DASHBOARDS.glob("*.json"))

    def chart() -> list[Result]:
        results = [helm_lint()]
        for case, values in VALUES_CASES.items():
            rendered = helm_template(values=values)
            results += [
                kubernetes_validate(rendered, f"kubernetes-validate --strict ({case})"),
                operator_models(rendered),
                prometheus_rule_specs(rendered),
                chart_hub_configs(rendered),
                chart_kafka_settings(rendered),
            ]
            if case == "everything":
                results.append(checkov(rendered))
        return results

    def metrics() -> list[Result]:
        known = known_metric_series() | recorded_series()
        return [
            unknown_metrics(dashboard_exprs(dashboards), known, "dashboard metrics in catalog"),
            unknown_metrics(rule_exprs(), known, "rule metrics in catalog"),
        ]

    return [
        generated_files_current,
        yamllint,
        hadolint,
        compose_schema,
        promtool_check_config,
        lambda: promtool_check_rules(CHART_RULES),
        lambda: promtool_test_rules(RULE_TESTS),
        lambda: promql_parses(dashboard_exprs(dashboards), "dashboard PromQL parses"),
        lambda: dashboard_types(dashboards),
        metrics,
        chart,
    ]


def main() -> int:
    failed = 0
    start = time.monotonic()
    for check in all_checks():
        try:
            outcome = check()
        except CheckError as exc:
            outcome = Result(getattr(check, "__name__", "check"), False, str(exc))
        for result in outcome if isinstance(outcome, list) else [outcome]:
            print(result.line())  # noqa: T201 - the command's report
            if not result.ok:
                failed += 1
                print("    " + result.detail.replace("\n", "\n    "))  # noqa: T201
    print(f"check-deploy: {failed} failed in {time.monotonic() - start:.1f}s")  # noqa: T201
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
