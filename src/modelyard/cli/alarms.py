"""``modelyard alarms``: metric alarms on endpoint metrics, what an update's rollback watches.

``put NAME --endpoint EP --metric Invocation5XXErrors --statistic Average --threshold 0.05``
(or ``--from-file`` with PutMetricAlarm's JSON), ``list``, ``describe``, ``delete``.
Over HTTP only; the rules are :mod:`modelyard.hosting.alarms`'s.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from modelyard.cli.common import JSON_OPTION, client, console, handled, print_json, print_listing

app = typer.Typer(no_args_is_help=True)

_COLUMNS = ("AlarmName", "StateValue", "MetricName", "Statistic", "ComparisonOperator", "Threshold")


@app.command()
@handled
def put(
    name: str = typer.Argument(..., help="The alarm's name."),
    endpoint: str | None = typer.Option(None, "--endpoint", help="The endpoint it watches."),
    variant: str | None = typer.Option(None, "--variant", help="One variant (default: any)."),
    metric: str = typer.Option("Invocation5XXErrors", "--metric", help="An endpoint metric."),
    statistic: str = typer.Option(
        "Average", "--statistic", help="Sum, Average (a count's Average is its rate), SampleCount."
    ),
    threshold: float = typer.Option(0.05, "--threshold", help="The value compared."),
    comparison: str = typer.Option(
        "GreaterThanThreshold", "--comparison", help="GreaterThanThreshold, LessThanThreshold..."
    ),
    period: int = typer.Option(60, "--period", help="Seconds of one datapoint."),
    evaluation_periods: int = typer.Option(1, "--evaluation-periods", help="Datapoints read."),
    datapoints_to_alarm: int | None = typer.Option(
        None, "--datapoints-to-alarm", help="Breaching datapoints that alarm (default: all)."
    ),
    treat_missing_data: str = typer.Option(
        "missing", "--treat-missing-data", help="missing, notBreaching, breaching or ignore."
    ),
    from_file: Path | None = typer.Option(
        None, "--from-file", exists=True, dir_okay=False, help="PutMetricAlarm's JSON."
    ),
) -> None:
    """Create or replace an alarm (PutMetricAlarm); prints it with its state now."""
    if from_file is not None:
        body: dict[str, Any] = json.loads(from_file.read_text())
    else:
        if endpoint is None:
            raise typer.BadParameter("name the endpoint it watches", param_hint="--endpoint")
        dimensions = [{"Name": "EndpointName", "Value": endpoint}]
        if variant:
            dimensions.append({"Name": "VariantName", "Value": variant})
        body = {
            "MetricName": metric,
            "Namespace": "AWS/SageMaker",
            "Statistic": statistic,
            "Dimensions": dimensions,
            "Period": period,
            "EvaluationPeriods": evaluation_periods,
            "Threshold": threshold,
            "ComparisonOperator": comparison,
            "TreatMissingData": treat_missing_data,
        }
        if datapoints_to_alarm is not None:
            body["DatapointsToAlarm"] = datapoints_to_alarm
    print_json(client().request("PUT", f"/alarms/{name}", json={**body, "AlarmName": name}).json())


@app.command("list")
@handled
def list_alarms(
    prefix: str | None = typer.Option(None, "--prefix", help="Names starting with this."),
    state: str | None = typer.Option(None, "--state", help="OK, ALARM or INSUFFICIENT_DATA."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Alarms with their state now (DescribeAlarms)."""
    found = client().get_json("/alarms", AlarmNamePrefix=prefix, StateValue=state)
    print_listing(found["MetricAlarms"], _COLUMNS, as_json=as_json, title="Alarms")


@app.command()
@handled
def describe(name: str = typer.Argument(..., help="The alarm's name.")) -> None:
    """Print the alarm's JSON, its StateValue and StateReason evaluated now."""
    print_json(client().get_json(f"/alarms/{name}"))


@app.command()
@handled
def delete(name: str = typer.Argument(..., help="The alarm's name.")) -> None:
    """Delete an alarm; an update that names it stops watching it."""
    client().delete(f"/alarms/{name}")
    console.print(f"deleted {name}", highlight=False)
