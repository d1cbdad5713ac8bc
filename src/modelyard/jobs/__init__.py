"""Job controllers: one per job kind, sharing the lifecycle of :mod:`modelyard.jobs.base`.

``TrainingController`` runs CreateTrainingJob requests (:mod:`modelyard.jobs.training`);
a processing controller will reuse :class:`JobController` the same way.
"""

from modelyard.jobs.base import JobController
from modelyard.jobs.instance_types import InstanceProfile, instance_profile, instance_profiles
from modelyard.jobs.job import Job, JobFailedError, Outcome, Phases
from modelyard.jobs.metrics import MetricParser
from modelyard.jobs.training import TrainingController
from modelyard.jobs.training_spec import validate_training_request

__all__ = [
    "InstanceProfile",
    "Job",
    "JobController",
    "JobFailedError",
    "MetricParser",
    "Outcome",
    "Phases",
    "TrainingController",
    "instance_profile",
    "instance_profiles",
    "validate_training_request",
]
