"""Each check of `make check-deploy` fails on a deliberately broken input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import checks
import pytest
import yaml

GOOD_DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "x", "namespace": "handoff"},
    "spec": {
        "selector": {"matchLabels": {"app": "x"}},
        "template": {
            "metadata": {"labels": {"app": "x"}},
            "spec": {"containers": [{"name": "x", "image": "handoff:0.1.0"}]},
        },
    },
}


def _dump(*docs: object) -> str:
    return yaml.safe_dump_all(docs, sort_keys=False)


@pytest.fixture(scope="module")
def rendered() -> str:
    return checks.helm_template(values=checks.VALUES_CASES["everything"])


# --- manifests ----------------------------------------------------------------------------------


def test_kubernetes_validate_rejects_unknown_fields_and_wrong_types() -> None:
    assert checks.kubernetes_validate(_dump(GOOD_DEPLOYMENT)).ok
    unknown = json.loads(json.dumps(GOOD_DEPLOYMENT))
    unknown["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    result = checks.kubernetes_validate(_dump(unknown))
    assert not result.ok, result.detail
    wrong_type = json.loads(json.dumps(GOOD_DEPLOYMENT))
    wrong_type["spec"]["replicas"] = "two"
    assert not checks.kubernetes_validate(_dump(wrong_type)).ok
    assert not checks.kubernetes_validate("").ok, "nothing rendered is a failure"


def test_operator_models_reject_a_broken_kafka_topic_and_prometheus_rule(rendered: str) -> None:
    assert checks.operator_models(rendered).ok
    topic = {
        "apiVersion": "kafka.strimzi.io/v1beta2",
        "kind": "KafkaTopic",
        "metadata": {"name": "hub.orders", "labels": {"strimzi.io/cluster": "handoff"}},
        "spec": {"partitions": "six", "replicas": 3},
    }
    result = checks.operator_models(_dump(topic))
    assert not result.ok
    assert "KafkaTopic/hub.orders" in result.detail
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "r"},
        "spec": {"groups": [{"name": "g", "rules": "not a list"}]},
    }
    assert not checks.operator_models(_dump(rule)).ok


def test_chart_hub_yaml_must_be_valid_and_its_raw_topics_declared(rendered: str) -> None:
    assert checks.chart_hub_configs(rendered).ok
    docs = checks.documents(rendered)
    broken = json.loads(json.dumps(docs))
    config_map = next(d for d in broken if d["metadata"]["name"] == "handoff-config")
    # an unquoted description with commas in a flow mapping: extra keys, as the chart's
    # defaults once had
    config_map["data"]["hub.yaml"] = "departments:\n  finance: {description: Invoicing, payments}\n"
    result = checks.chart_hub_configs(_dump(*broken))
    assert not result.ok
    assert "departments.finance.payments" in result.detail
    missing = [d for d in docs if d.get("spec", {}).get("topicName") != "raw.odoo.account_move"]
    result = checks.chart_hub_configs(_dump(*missing))
    assert not result.ok
    assert "connector odoo writes raw.odoo.account_move" in result.detail


def test_chart_kafka_settings_need_the_sasl_user(rendered: str) -> None:
    assert checks.chart_kafka_settings(rendered).ok
    broken = json.loads(json.dumps(checks.documents(rendered)))
    for d in broken:
        if d.get("kind") == "Deployment":
            container = d["spec"]["template"]["spec"]["containers"][0]
            container["env"] = [e for e in container["env"] if e["name"] != "KAFKA_SASL_USERNAME"]
    result = checks.chart_kafka_settings(_dump(*broken))
    assert not result.ok
    assert "KAFKA_SASL_USERNAME" in result.detail
    unmounted = json.loads(json.dumps(checks.documents(rendered)))
    for d in unmounted:
        if d.get("kind") == "Deployment":
            container = d["spec"]["template"]["spec"]["containers"][0]
            mounts = container["volumeMounts"]
            container["volumeMounts"] = [m for m in mounts if m["name"] != "kafka-ca"]
    result = checks.chart_kafka_settings(_dump(*unmounted))
    assert not result.ok
    assert "KAFKA_SSL_CAFILE /etc/kafka-ca/ca.crt is on no volume" in result.detail


def test_prometheus_rule_spec_with_a_bad_expression_fails() -> None:
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "r"},
        "spec": {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "sum(rate(x[5m])"}]}]},
    }
    assert not checks.prometheus_rule_specs(_dump(rule)).ok


def test_helm_lint_fails_on_a_broken_template(tmp_path: Path) -> None:
    chart = tmp_path / "handoff"
    shutil.copytree(checks.CHART, chart)
    (chart / "templates" / "broken.yaml").write_text("{{ .Values.nothing.here }\n")
    assert not checks.helm_lint(chart).ok


def test_checkov_fails_on_a_privileged_root_pod(tmp_path: Path) -> None:
    pod = json.loads(json.dumps(GOOD_DEPLOYMENT))
    pod["spec"]["template"]["spec"]["containers"][0]["securityContext"] = {
        "privileged": True,
        "runAsUser": 0,
    }
    result = checks.checkov(_dump(pod))
    assert not result.ok
    assert "CKV_K8S_16" in result.detail  # privileged container


# --- Dockerfile, compose, YAML ------------------------------------------------------------------


def test_hadolint_fails_on_a_root_latest_image(tmp_path: Path) -> None:
    assert checks.hadolint().ok
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\nCMD hub\n")
    result = checks.hadolint(bad)
    assert not result.ok
    assert "DL3007" in result.detail  # latest tag


def test_compose_schema_and_yamllint_fail_on_broken_files(tmp_path: Path) -> None:
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("services:\n  kafka:\n    image: apache/kafka:3.9.1\n    ports: 9092\n")
    assert not checks.compose_schema(compose).ok
    bad_yaml = tmp_path / "values.yaml"
    bad_yaml.write_text("a: 1\na: 2\nb: [1,2\n")
    assert not checks.yamllint([bad_yaml]).ok


# --- rules, PromQL and dashboards ---------------------------------------------------------------


def test_promtool_rejects_a_broken_rule_and_a_failing_rule_test(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text(
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: sum by (x (hub_broker_up)\n"
    )
    assert not checks.promtool_check_rules(bad).ok
    test = tmp_path / "rules.test.yaml"
    test.write_text(
        yaml.safe_dump(
            {
                "rule_files": [str(checks.CHART_RULES)],
                "evaluation_interval": "1m",
                "tests": [
                    {
                        "interval": "1m",
                        "input_series": [{"series": "hub_broker_up", "values": "1x10"}],
                        "alert_rule_test": [
                            {
                                "eval_time": "5m",
                                "alertname": "HubBrokerUnreachable",
                                "exp_alerts": [{"exp_labels": {"severity": "critical"}}],
                            }
                        ],
                    }
                ],
            }
        )
    )
    assert not checks.promtool_test_rules(test).ok


def _dashboard(tmp_path: Path, panel: dict[str, object]) -> Path:
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"title": "t", "schemaVersion": 39, "panels": [panel]}))
    return path


def test_dashboard_type_check_fails_on_a_wrong_field(tmp_path: Path) -> None:
    good = {
        "type": "timeseries",
        "title": "ok",
        "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0},
        "targets": [{"refId": "A", "expr": "hub_broker_up"}],
    }
    assert checks.dashboard_types([_dashboard(tmp_path, good)]).ok
    bad = {**good, "gridPos": {"h": "eight", "w": 12, "x": 0, "y": 0}}
    assert not checks.dashboard_types([_dashboard(tmp_path, bad)]).ok
    missing_type = {k: v for k, v in good.items() if k != "type"}
    assert not checks.dashboard_types([_dashboard(tmp_path, missing_type)]).ok


def test_dashboard_promql_and_metric_names_fail_on_bad_queries(tmp_path: Path) -> None:
    unparsable = {"type": "stat", "targets": [{"refId": "A", "expr": "sum(rate(hub_x[5m])"}]}
    assert not checks.promql_parses(checks.dashboard_exprs([_dashboard(tmp_path, unparsable)])).ok
    typo = {
        "type": "stat",
        "title": "lag",
        "targets": [{"refId": "A", "expr": 'sum by (group) (hub_consumer_lagg{group="a"})'}],
    }
    exprs = checks.dashboard_exprs([_dashboard(tmp_path, typo)])
    assert checks.promql_parses(exprs).ok
    result = checks.unknown_metrics(exprs, checks.known_metric_series())
    assert not result.ok
    assert "hub_consumer_lagg" in result.detail


def test_an_unknown_metric_in_an_alert_fails(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        yaml.safe_dump(
            {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "hub_dlq_size > 0"}]}]}
        )
    )
    result = checks.unknown_metrics(checks.rule_exprs(rules), checks.known_metric_series())
    assert not result.ok
    assert "hub_dlq_size" in result.detail
