"""Deployment config validation: every bad value is reported as one line naming field and value."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from config.deployment import ConfigError
from config.loading import load_config, selected_stage
from tests.support.synth import cdk_json_context, run_app


@pytest.fixture
def raw() -> dict[str, Any]:
    return copy.deepcopy(cdk_json_context()["deployment"])


def problems(raw: dict[str, Any], **overrides: str) -> list[str]:
    context: dict[str, Any] = {"deployment": raw}
    context.update({f"deployment.{k.replace('__', '.')}": v for k, v in overrides.items()})
    with pytest.raises(ConfigError) as caught:
        load_config(context)
    for line in caught.value.problems:
        assert "\n" not in line
    return caught.value.problems


def test_example_config_is_valid() -> None:
    config = load_config(cdk_json_context())
    assert [e.name for e in config.environments] == ["dev", "staging", "prod"]
    assert config.production.name == "prod"
    assert config.production.requires_approval


@pytest.mark.parametrize("account", ["12345678901", "1234567890123", "12345678901a", ""])
def test_account_must_be_12_digits(raw: dict[str, Any], account: str) -> None:
    raw["environments"][1]["account"] = account
    assert problems(raw) == [
        f"environments[1].account: {account!r} must be a 12-digit AWS account id"
    ]


def test_numeric_account_keeps_its_digits(raw: dict[str, Any]) -> None:
    raw["environments"][0]["account"] = 555555555555
    config = load_config({"deployment": raw})
    assert config.environments[0].account == "555555555555"


@pytest.mark.parametrize("region", ["eu-west", "EU-WEST-1", "euwest1", "eu_west_1"])
def test_region_must_be_well_formed(raw: dict[str, Any], region: str) -> None:
    raw["toolchain"]["region"] = region
    assert problems(raw) == [
        f"toolchain.region: {region!r} must be an AWS region such as eu-west-1"
    ]


def test_duplicate_environment_names(raw: dict[str, Any]) -> None:
    raw["environments"][1]["name"] = "dev"
    assert "environments[1].name: 'dev' is a duplicate of environments[0]" in problems(raw)


def test_malformed_environment_name(raw: dict[str, Any]) -> None:
    raw["environments"][0]["name"] = "Dev Env"
    assert problems(raw)[0].startswith("environments[0].name: 'Dev Env' must be")


def test_override_of_unknown_environment(raw: dict[str, Any]) -> None:
    assert problems(raw, environments__prdo__account="555555555555") == [
        "deployment.environments.prdo.account: unknown environment 'prdo' "
        "(configured: dev, staging, prod)"
    ]


def test_same_account_and_region_twice(raw: dict[str, Any]) -> None:
    raw["environments"][1]["account"] = raw["environments"][0]["account"]
    found = problems(raw)
    assert found == [
        "environments[1]: account 222222222222 region eu-west-1 is already used by environment "
        "'dev'; each environment needs its own account/region"
    ]


def test_same_account_in_another_region_is_allowed(raw: dict[str, Any]) -> None:
    raw["environments"][1]["account"] = raw["environments"][0]["account"]
    raw["environments"][1]["region"] = "eu-central-1"
    assert load_config({"deployment": raw}).environments[1].region == "eu-central-1"


def test_prod_requires_manual_approval(raw: dict[str, Any]) -> None:
    raw["environments"][-1]["requires_approval"] = False
    assert problems(raw) == [
        "environments[2].requires_approval: false for 'prod', the production (last) "
        "environment; it must be true"
    ]


def test_toolchain_account_reused_as_workload(raw: dict[str, Any]) -> None:
    raw["environments"][0]["account"] = raw["toolchain"]["account"]
    assert problems(raw) == [
        "environments[0].account: '111111111111' is the toolchain account; use a separate "
        "account or set allow_toolchain_as_workload_account: true"
    ]
    raw["allow_toolchain_as_workload_account"] = True
    assert load_config({"deployment": raw}).environments[0].account == "111111111111"


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:codeconnections:eu-west-1:111111111111:connection/not-a-uuid",
        "arn:aws:s3:::bucket",
        "",
    ],
)
def test_malformed_connection_arn(raw: dict[str, Any], arn: str) -> None:
    raw["source"]["connection_arn"] = arn
    (line,) = problems(raw)
    assert line.startswith(f"source.connection_arn: {arn!r} must be a CodeConnections ARN")


def test_codestar_connection_arn_is_accepted(raw: dict[str, Any]) -> None:
    raw["source"]["connection_arn"] = raw["source"]["connection_arn"].replace(
        "codeconnections", "codestar-connections"
    )
    load_config({"deployment": raw})


@pytest.mark.parametrize("branch", ["", "   "])
def test_empty_branch(raw: dict[str, Any], branch: str) -> None:
    raw["source"]["branch"] = branch
    assert problems(raw) == [f"source.branch: {branch!r} must not be empty"]


def test_missing_field_is_named(raw: dict[str, Any]) -> None:
    del raw["source"]["branch"]
    assert problems(raw) == ["source.branch: (missing) Field required"]


def test_unknown_field_is_rejected(raw: dict[str, Any]) -> None:
    raw["environments"][0]["acount"] = "222222222222"
    assert problems(raw) == [
        "environments[0].acount: '222222222222' Extra inputs are not permitted"
    ]


def test_overrides_apply_by_environment_name(raw: dict[str, Any]) -> None:
    config = load_config(
        {
            "deployment": raw,
            "deployment.environments.prod.account": "999999999999",
            "deployment.source.branch": "release",
            "deployment.environments.dev.retain_data": "true",
        }
    )
    assert config.production.account == "999999999999"
    assert config.source.branch == "release"
    assert config.environments[0].retain_data is True


def test_bad_config_exits_with_one_line_per_problem_and_no_traceback() -> None:
    context = cdk_json_context()
    context["deployment.environments.staging.account"] = "123"
    done = run_app(context, Path("/tmp/never-written"))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "config error: environments[1].account: '123' must be a 12-digit AWS account id"
    ]


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "Infinity", 1e309])
def test_non_finite_numbers_are_rejected_in_every_section(raw: dict[str, Any], value: Any) -> None:
    """pydantic parses "inf" and "nan" into floats unless told not to: a throttle of inf would
    crash synth with a traceback deep in CDK instead of a one-line config error."""
    found = problems(
        raw,
        environments__dev__settings__inbound__route_throttle__rate_limit=value,
        environments__prod__settings__monitoring__api_5xx_rate_percent=value,
        environments__staging__settings__delivery__load_rate_per_second=value,
    )
    assert len(found) == 3
    for line in found:
        assert "finite number" in line
    assert found[0].startswith("environments[0].settings.inbound.route_throttle.rate_limit: ")


# --- `make synth STAGE=<name>`: one environment's Stage ---------------------------------------


def test_no_stage_selected_means_every_stage(raw: dict[str, Any]) -> None:
    # cdk.json selects none: `make synth`, CI and the pipeline synthesize every Stage.
    assert "stage" not in cdk_json_context()
    config = load_config({"deployment": raw})
    assert selected_stage(config, {}) is None
    assert selected_stage(config, {"stage": ""}) is None


def test_a_stage_is_selected_by_environment_name(raw: dict[str, Any]) -> None:
    config = load_config({"deployment": raw})
    chosen = selected_stage(config, {"stage": "staging"})
    assert chosen is not None
    assert chosen.name == "staging"


def test_an_unknown_stage_names_the_configured_ones(raw: dict[str, Any]) -> None:
    config = load_config({"deployment": raw})
    with pytest.raises(ConfigError) as caught:
        selected_stage(config, {"stage": "Dev"})  # the name, not the Stage's construct id
    (line,) = caught.value.problems
    assert line == "stage: unknown environment 'Dev' (configured: dev, staging, prod)"
