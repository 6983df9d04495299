"""Dashboards and alarms of a Stage (cdk-monitoring-constructs)."""
