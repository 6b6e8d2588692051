"""The cluster layer (issue 11): many csms processes on one NATS and one PostgreSQL.

Off unless CSMS_CLUSTER_URL is set; the container then wires these ports in place of the
single-process ones (see docs/cluster.md):

* :class:`ClusterNode` (``node.py``): the NATS connection, this node's lease, presence (which node
  holds which station, in JetStream KV), the command server and the webhook sender lease.
* :class:`ClusterGateway` (``gateway.py``): the API's ``StationGateway``; a station held by another
  node is reached by NATS request/reply with today's outcomes (404/409/502/504).
* :class:`ClusterBus` (``events.py``): the API's ``EventBus``; every node's events, once each.
"""

from csms.cluster.events import ClusterBus
from csms.cluster.gateway import ClusterGateway
from csms.cluster.mirror import Holder, PresenceMirror, station_key
from csms.cluster.node import ClusterError, ClusterNode, ClusterWebhookChanges, default_node_id

__all__ = [
    "ClusterBus",
    "ClusterError",
    "ClusterGateway",
    "ClusterNode",
    "ClusterWebhookChanges",
    "Holder",
    "PresenceMirror",
    "default_node_id",
    "station_key",
]
