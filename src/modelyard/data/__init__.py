"""How a training job's input channels reach it: File, FastFile, Pipe and file-system channels.

The training controller calls :func:`validate_channel` for every channel before
anything runs, then :func:`stage_channel` per channel on each host, and
:meth:`StagedChannel.close` when the job ends (:meth:`StagedChannel.detach` when the
server shuts down and the job goes on); a new server calls :func:`resume_channel` to
feed a re-adopted job's Pipe / FastFile channels again (``progress``, ``resume``).
:func:`list_channel_objects` is the selection (listing, manifest, shuffle, sharding) on its own.

Modules: ``channel`` (the request's shape), ``selection`` (which objects, in
which order), ``file_mode``, ``fastfile``, ``pipe``, ``filesystem``,
``augmented`` (one per way of delivering), ``streams`` (an object's bytes as
a bounded stream: gunzip, RecordIO framing), ``fifo`` (the one module that
touches named pipes).
"""

from modelyard.data.channel import ChannelSpec, parse_channel
from modelyard.data.resume import FeedInterruptedError, resume_channel
from modelyard.data.selection import ObjectRef, list_channel_objects, validate_channel
from modelyard.data.stage import stage_channel
from modelyard.data.staged import StagedChannel

__all__ = [
    "ChannelSpec",
    "FeedInterruptedError",
    "ObjectRef",
    "StagedChannel",
    "list_channel_objects",
    "parse_channel",
    "resume_channel",
    "stage_channel",
    "validate_channel",
]
