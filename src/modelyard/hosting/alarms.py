"""CloudWatch metric alarms on endpoint metrics: what a deployment's auto-rollback watches.

An alarm is PutMetricAlarm's shape, the subset that fits endpoint metrics: ``MetricName``
(one of :data:`~.metrics.METRIC_NAMES`), ``Namespace`` ``AWS/SageMaker``, ``Dimensions``
``EndpointName`` (required) and ``VariantName`` (optional: without it every production
variant is evaluated and any one breaching is enough), ``Statistic``, ``Period``,
``EvaluationPeriods``, ``DatapointsToAlarm``, ``Threshold``, ``ComparisonOperator`` and
``TreatMissingData``. Periods are seconds at one-second resolution (CloudWatch's high
resolution), so a deployment can bake for seconds and still be watched.

Statistics, per datapoint (one period of one variant):

- counts (``Invocations``, ``Invocation4XXErrors``, ``Invocation5XXErrors``,
  ``InvocationModelErrors``): ``Sum``; ``Average`` is the count per invocation, so
  ``Invocation5XXErrors`` with ``Average`` is the 5xx *rate* (SageMaker publishes these
  metrics as 0/1 per request, so CloudWatch's Average is the same rate); ``SampleCount``
  is the invocations;
- ``ModelLatency`` / ``OverheadLatency`` (µs): ``Average``, ``SampleCount``;
- ``CPUUtilization`` / ``MemoryUtilization``: ``Average``; ``InvocationsPerInstance``: ``Sum``.

A datapoint is missing when the period saw no invocation (no sample, for utilisation);
``TreatMissingData`` is CloudWatch's: ``missing`` (the default) and ``ignore`` evaluate the
datapoints there are (``INSUFFICIENT_DATA`` if none), ``notBreaching`` counts a missing
one as good, ``breaching`` as bad. Percentiles (``ExtendedStatistic``) and metric math
(``Metrics``) are refused with a message saying what to use instead.

An alarm's ``StateValue`` (``OK``, ``ALARM``, ``INSUFFICIENT_DATA``) is evaluated when
read, over the variants the endpoint serves; during a deployment the reconciler evaluates
it over the new fleet's variants instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from modelyard.catalog.base import Catalog, ResourceRecord
from modelyard.errors import AlreadyExistsError, NotFoundError, ValidationError
from modelyard.hosting.metrics import METRIC_NAMES, RECENT_WINDOW_S, MetricsStore
from modelyard.ids import Identity, ResourceKind, utcnow

KIND = ResourceKind.ALARM
NAMESPACE = "AWS/SageMaker"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")

COUNTS = frozenset(
    {"Invocations", "Invocation4XXErrors", "Invocation5XXErrors", "InvocationModelErrors"}
)
STATISTICS: Mapping[str, frozenset[str]] = {
    **{m: frozenset({"Sum", "Average", "SampleCount"}) for m in COUNTS},
    "ModelLatency": frozenset({"Average", "SampleCount"}),
    "OverheadLatency": frozenset({"Average", "SampleCount"}),
    "CPUUtilization": frozenset({"Average"}),
    "MemoryUtilization": frozenset({"Average"}),
    "InvocationsPerInstance": frozenset({"Sum"}),
}
COMPARISONS: Mapping[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": lambda v, t: v > t,
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}
MISSING_DATA = ("missing", "notBreaching", "breaching", "ignore")
_FIELDS = frozenset(
    {
        "AlarmName",
        "AlarmDescription",
        "ActionsEnabled",
        "OKActions",
        "AlarmActions",
        "InsufficientDataActions",
        "MetricName",
        "Namespace",
        "Statistic",
        "ExtendedStatistic",
        "Dimensions",
        "Period",
        "Unit",
        "EvaluationPeriods",
        "DatapointsToAlarm",
        "Threshold",
        "ComparisonOperator",
        "TreatMissingData",
        "EvaluateLowSampleCountPercentile",
        "Metrics",
        "Tags",
        "ThresholdMetricId",
    }
)

#: variant name -> the key its metrics are recorded under (see :mod:`.deployments`).
Fleet = Mapping[str, str]


@dataclass(frozen=True)
class Evaluation:
    state: str  # OK | ALARM | INSUFFICIENT_DATA
    reason: str


def _require(body: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = body.get(key)
    if value is None:
        raise ValidationError(f"{key} is required", field=key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValidationError(f"{key}={value!r} has the wrong type", field=key)
    return value


def check_alarm(body: object) -> dict[str, Any]:
    """PutMetricAlarm's request checked; the alarm's spec (every default filled in)."""
    if not isinstance(body, dict):
        raise ValidationError("the request body must be a JSON object")
    for key in body:
        if key not in _FIELDS:
            raise ValidationError(f"{key} is not a field of PutMetricAlarm", field=key)
    name = _require(body, "AlarmName", str)
    if not NAME.fullmatch(name):
        raise ValidationError(
            f"AlarmName={name!r}: use 1-255 letters, digits, '.', '_' and '-' (it is a URL path)",
            field="AlarmName",
        )
    if body.get("Metrics"):
        raise ValidationError(
            "Metrics: metric math is not supported; for a 5xx error rate use MetricName "
            "Invocation5XXErrors with Statistic Average (errors per invocation)",
            field="Metrics",
        )
    if body.get("ExtendedStatistic"):
        raise ValidationError(
            "ExtendedStatistic: percentiles are not kept; use Statistic Average "
            "(ModelLatency's mean over the period)",
            field="ExtendedStatistic",
        )
    namespace = body.get("Namespace", NAMESPACE)
    if namespace != NAMESPACE:
        raise ValidationError(
            f"Namespace={namespace!r}: only {NAMESPACE} (endpoint metrics) is kept here",
            field="Namespace",
        )
    metric = _require(body, "MetricName", str)
    if metric not in STATISTICS:
        raise ValidationError(
            f"MetricName={metric!r} is not an endpoint metric; one of {', '.join(METRIC_NAMES)}",
            field="MetricName",
        )
    statistic = _require(body, "Statistic", str)
    if statistic not in STATISTICS[metric]:
        raise ValidationError(
            f"Statistic={statistic!r} is not kept for {metric}; use one of "
            f"{', '.join(sorted(STATISTICS[metric]))}",
            field="Statistic",
        )
    dimensions = _dimensions(body.get("Dimensions"))
    period = _require(body, "Period", int)
    if not 1 <= period <= RECENT_WINDOW_S:
        raise ValidationError(
            f"Period={period}: seconds from 1 to {RECENT_WINDOW_S}", field="Period"
        )
    periods = _require(body, "EvaluationPeriods", int)
    if periods < 1 or period * periods > RECENT_WINDOW_S:
        raise ValidationError(
            f"EvaluationPeriods={periods}: at least 1, and Period x EvaluationPeriods at most "
            f"{RECENT_WINDOW_S} s",
            field="EvaluationPeriods",
        )
    to_alarm = body.get("DatapointsToAlarm", periods)
    if not isinstance(to_alarm, int) or not 1 <= to_alarm <= periods:
        raise ValidationError(
            f"DatapointsToAlarm={to_alarm!r}: from 1 to EvaluationPeriods ({periods})",
            field="DatapointsToAlarm",
        )
    threshold = _require(body, "Threshold", (int, float))
    comparison = _require(body, "ComparisonOperator", str)
    if comparison not in COMPARISONS:
        raise ValidationError(
            f"ComparisonOperator={comparison!r}: one of {', '.join(COMPARISONS)}",
            field="ComparisonOperator",
        )
    missing = body.get("TreatMissingData", "missing")
    if missing not in MISSING_DATA:
        raise ValidationError(
            f"TreatMissingData={missing!r}: one of {', '.join(MISSING_DATA)}",
            field="TreatMissingData",
        )
    spec = {k: v for k, v in body.items() if k not in ("Tags",)}
    spec.update(
        {
            "Namespace": NAMESPACE,
            "Dimensions": dimensions,
            "DatapointsToAlarm": to_alarm,
            "Threshold": float(threshold),
            "TreatMissingData": missing,
            "ActionsEnabled": bool(body.get("ActionsEnabled", True)),
        }
    )
    return spec


def _dimensions(value: object) -> list[dict[str, str]]:
    if not isinstance(value, list) or not all(
        isinstance(d, dict) and isinstance(d.get("Name"), str) and isinstance(d.get("Value"), str)
        for d in value
    ):
        raise ValidationError(
            "Dimensions: a list of {'Name', 'Value'} naming at least EndpointName",
            field="Dimensions",
        )
    names = [d["Name"] for d in value]
    for index, name in enumerate(names):
        if name not in ("EndpointName", "VariantName") or names.count(name) > 1:
            raise ValidationError(
                f"Dimensions.{index}.Name={name!r}: EndpointName and VariantName, once each",
                field=f"Dimensions.{index}.Name",
            )
    if "EndpointName" not in names:
        raise ValidationError(
            "Dimensions: EndpointName is required (the endpoint whose metrics are watched)",
            field="Dimensions",
        )
    return [{"Name": d["Name"], "Value": d["Value"]} for d in value]


def dimension(spec: Mapping[str, Any], name: str) -> str | None:
    for entry in spec.get("Dimensions") or []:
        if entry["Name"] == name:
            return str(entry["Value"])
    return None


def _datapoint(
    metrics: MetricsStore, endpoint: str, key: str, spec: Mapping[str, Any], ago_s: float
) -> float | None:
    metric = spec["MetricName"]
    statistic = spec["Statistic"]
    window = float(spec["Period"])

    def read(name: str) -> float | None:
        return metrics.recent(endpoint, key, name, window_s=window, ago_s=ago_s)

    if statistic == "SampleCount":
        return read("Invocations")
    value = read(metric)
    if value is None or statistic != "Average" or metric not in COUNTS:
        return value
    invocations = read("Invocations")
    return value / invocations if invocations else None


def evaluate(
    spec: Mapping[str, Any], metrics: MetricsStore, endpoint: str, fleet: Fleet
) -> Evaluation:
    """The alarm's state over the variants of ``fleet`` now (any variant in ALARM is enough)."""
    wanted = dimension(spec, "VariantName")
    variants = {n: k for n, k in fleet.items() if wanted is None or n == wanted}
    period = int(spec["Period"])
    periods = int(spec["EvaluationPeriods"])
    needed = int(spec["DatapointsToAlarm"])
    missing = spec["TreatMissingData"]
    compare = COMPARISONS[spec["ComparisonOperator"]]
    threshold = float(spec["Threshold"])
    seen_data = False
    for variant, key in variants.items():
        values = [_datapoint(metrics, endpoint, key, spec, i * period) for i in range(periods)]
        present = [v for v in values if v is not None]
        seen_data = seen_data or bool(present)
        breaching = [v for v in present if compare(v, threshold)]
        if missing == "breaching":
            breaching_count = len(breaching) + len(values) - len(present)
        else:
            breaching_count = len(breaching)
        if breaching_count >= needed:
            shown = ", ".join(f"{v:g}" for v in breaching) or "missing data"
            return Evaluation(
                "ALARM",
                f"Threshold Crossed: {breaching_count} of {periods} datapoint(s) of "
                f"{spec['MetricName']} ({spec['Statistic']}) on variant {variant} "
                f"[{shown}] breached {spec['ComparisonOperator']} {threshold:g}",
            )
    if seen_data or missing == "notBreaching":
        return Evaluation("OK", "Threshold Crossed: no datapoint breached the threshold")
    return Evaluation("INSUFFICIENT_DATA", "no datapoint in the evaluation periods")


class AlarmRegistry:
    """PutMetricAlarm / DescribeAlarms / DeleteAlarms over the catalog."""

    def __init__(
        self,
        catalog: Catalog,
        metrics: MetricsStore,
        serving: Callable[[str], Fleet],
        identity: Identity | None = None,
    ) -> None:
        self.catalog = catalog
        self.metrics = metrics
        self.serving = serving
        self.identity = identity or Identity()

    def put(self, body: object) -> dict[str, Any]:
        """PutMetricAlarm: create the alarm, or replace the one of that name."""
        spec = check_alarm(body)
        name = spec["AlarmName"]
        try:
            self.catalog.create(KIND, name, spec=spec, status="Created")
        except AlreadyExistsError:
            self.catalog.update(KIND, name, spec=spec)
        return self.describe(name)

    def get(self, name: str) -> ResourceRecord:
        try:
            return self.catalog.get(KIND, name)
        except NotFoundError as exc:
            raise NotFoundError(f"Could not find alarm {name!r}", field="AlarmName") from exc

    def spec(self, name: str) -> dict[str, Any] | None:
        """The alarm's spec, or None if there is none of that name (a deployment skips it)."""
        try:
            return self.catalog.get(KIND, name).spec
        except NotFoundError:
            return None

    def describe(self, name: str) -> dict[str, Any]:
        """One ``MetricAlarm`` of DescribeAlarms, its state evaluated now."""
        return self._shape(self.get(name))

    def list(self, prefix: str | None = None, state: str | None = None) -> dict[str, Any]:
        """DescribeAlarms: ``MetricAlarms`` (by name prefix and state value)."""
        found: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = self.catalog.list(KIND, sort_by="Name", sort_order="Ascending", next_token=token)
            for record in page.records:
                if prefix and not record.name.startswith(prefix):
                    continue
                shaped = self._shape(record)
                if state is None or shaped["StateValue"] == state:
                    found.append(shaped)
            token = page.next_token
            if not token:
                return {"MetricAlarms": found}

    def delete(self, name: str) -> None:
        self.get(name)
        self.catalog.delete(KIND, name)

    def evaluate(self, spec: Mapping[str, Any], fleet: Fleet | None = None) -> Evaluation:
        """The alarm's state over ``fleet`` (default: what its endpoint serves now)."""
        endpoint = dimension(spec, "EndpointName") or ""
        return evaluate(
            spec, self.metrics, endpoint, self.serving(endpoint) if fleet is None else fleet
        )

    def _shape(self, record: ResourceRecord) -> dict[str, Any]:
        spec = record.spec
        evaluation = self.evaluate(spec)
        now: datetime = utcnow()
        who = self.identity
        return {
            **spec,
            "AlarmArn": f"arn:aws:cloudwatch:{who.region}:{who.account_id}:alarm:{record.name}",
            "AlarmConfigurationUpdatedTimestamp": record.updated_at,
            "StateValue": evaluation.state,
            "StateReason": evaluation.reason,
            "StateUpdatedTimestamp": now,
        }
