"""``modelyard.autoscaling``: boto3's ``application-autoscaling`` client for endpoint variants.

``modelyard.autoscaling.Client()`` (or ``Session().autoscaling_client()``) stands where
code written for AWS calls ``boto3.client("application-autoscaling")``.
"""

from modelyard.sdk.autoscaling import AutoscalingClient

Client = AutoscalingClient

__all__ = ["AutoscalingClient", "Client"]
