"""Reads the deployment from CDK context: the `deployment` object plus `-c deployment.*` overrides.

Every problem becomes one printable line naming the field and the offending value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from config.deployment import ConfigError, DeploymentConfig, Environment

CONTEXT_KEY = "deployment"
OVERRIDE_PREFIX = CONTEXT_KEY + "."


def _format_location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or CONTEXT_KEY


def _lookup(data: Any, loc: tuple[int | str, ...]) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _apply_overrides(raw: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Apply `deployment.a.b=value` keys; environments are addressed by name, not index."""
    for key, value in sorted(overrides.items()):
        path = key[len(OVERRIDE_PREFIX) :].split(".")
        target: Any = raw
        walked: list[str] = []
        for part in path[:-1]:
            walked.append(part)
            if isinstance(target, list):
                match = [e for e in target if isinstance(e, dict) and e.get("name") == part]
                if not match:
                    names = ", ".join(str(e.get("name")) for e in target if isinstance(e, dict))
                    raise ConfigError(
                        [f"{key}: unknown environment {part!r} (configured: {names})"]
                    )
                target = match[0]
            elif isinstance(target, dict):
                target = target.setdefault(part, {})
            else:
                raise ConfigError([f"{key}: {'.'.join(walked)!r} is not a section"])
        if not isinstance(target, dict) or not path[-1]:
            raise ConfigError([f"{key}: cannot override {'.'.join(path)!r}"])
        target[path[-1]] = _parse_scalar(value)
    return raw


def _parse_scalar(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return value


def _without_comments(data: Any) -> Any:
    """Drop `"//"` keys: JSON has no comments, so cdk.json marks placeholders with them."""
    if isinstance(data, dict):
        return {k: _without_comments(v) for k, v in data.items() if not k.startswith("//")}
    if isinstance(data, list):
        return [_without_comments(v) for v in data]
    return data


def load_config(context: Mapping[str, Any]) -> DeploymentConfig:
    """Build the config from CDK context: the `deployment` object plus `deployment.*` overrides."""
    raw = context.get(CONTEXT_KEY)
    if not isinstance(raw, dict):
        raise ConfigError([f"{CONTEXT_KEY}: missing or not an object in cdk.json context"])
    data = _apply_overrides(
        _without_comments(raw),
        {k: v for k, v in context.items() if k.startswith(OVERRIDE_PREFIX)},
    )
    try:
        return DeploymentConfig.model_validate(data)
    except ConfigError:
        raise
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            if isinstance(err.get("ctx", {}).get("error"), ConfigError):
                problems.extend(err["ctx"]["error"].problems)
                continue
            where = _format_location(loc)
            value = _lookup(data, loc)
            message = str(err["msg"]).removeprefix("Value error, ")
            shown = "(missing)" if err["type"] == "missing" else repr(value)
            problems.append(f"{where}: {shown} {message}")
        raise ConfigError(problems) from None


STAGE_CONTEXT_KEY = "stage"


def selected_stage(config: DeploymentConfig, context: Mapping[str, Any]) -> Environment | None:
    """The environment named by `-c stage=<name>` (`make synth STAGE=dev`), or None for all."""
    name = context.get(STAGE_CONTEXT_KEY)
    if name is None or name == "":
        return None
    for env in config.environments:
        if env.name == name:
            return env
    names = ", ".join(env.name for env in config.environments)
    raise ConfigError([f"{STAGE_CONTEXT_KEY}: unknown environment {name!r} (configured: {names})"])
