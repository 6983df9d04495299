"""Platform-RollbackWindow: alarms that gate a traffic shift can go off inside its interval."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from policies.rules.base import NOT_APPLICABLE, Resource, Result, Rule, as_list, referenced_ids

# CodeDeploy's predefined Lambda configurations: minutes until the next traffic increment.
_INTERVAL = re.compile(r"Lambda(?:Canary10Percent|Linear10PercentEvery)(\d+)Minutes?$")


def _seconds_to_fire(alarm: Mapping[str, Any]) -> int:
    """Period x datapoints needed to alarm (the smallest period of a metric-math alarm)."""
    periods = [alarm.get("Period")] + [
        m.get("MetricStat", {}).get("Period") for m in as_list(alarm.get("Metrics"))
    ]
    period = min(int(p) for p in periods if p is not None)
    datapoints = int(alarm.get("DatapointsToAlarm") or alarm.get("EvaluationPeriods") or 1)
    return period * datapoints


class RollbackWindow(Rule):
    id = "RollbackWindow"
    info = "An alarm that should roll back a canary or linear deployment cannot go off in time."
    explanation = (
        "CodeDeploy only rolls back on alarms that are in ALARM while the shift is running: "
        "an alarm that needs more time (period x datapoints) than the shift's interval, or "
        "that treats missing data as breaching, lets a bad release through or blocks good ones."
    )
    resource_types = frozenset({"AWS::CodeDeploy::DeploymentGroup"})

    def check(self, resource: Resource) -> Result:
        config = str(resource.properties.get("DeploymentConfigName", ""))
        match = _INTERVAL.search(config)
        alarms = as_list((resource.properties.get("AlarmConfiguration") or {}).get("Alarms"))
        if match is None or not alarms:
            return NOT_APPLICABLE
        window = int(match.group(1)) * 60
        findings = []
        for entry in alarms:
            for alarm_id in referenced_ids(entry.get("Name")):
                alarm = resource.stack.resources.get(alarm_id, {}).get("Properties", {})
                too_slow = _seconds_to_fire(alarm) > window
                if too_slow or alarm.get("TreatMissingData") == "breaching":
                    findings.append(f"Alarm::{alarm_id}")
        return findings
