"""Calico node emulation: calicoctl resources in, per-node BIRD config and
``calicoctl node status`` out.

Public API (one module per responsibility):

- :func:`bgplab.calico.resources.load_resources` -- parse and validate
  calicoctl YAML (file path or text) into :class:`~bgplab.calico.resources.Resource`\\ s;
  Calico's kinds in :mod:`~bgplab.calico.resources`, the Kubernetes/CRD objects
  (Secret, Service, Endpoints, Node, BlockAffinity) in :mod:`~bgplab.calico.kube`,
  the fields every kind has in :mod:`~bgplab.calico.schema`.
- :class:`bgplab.calico.datastore.Datastore` -- resources, labels and IPAM
  blocks, optionally saved in a state dir (``apply``, ``delete``, ``label``,
  ``nodes``, ``peers``, ``config``, ``pools``, ``blocks_for``, ``pod_ips``).
- :mod:`bgplab.calico.ipam` -- per-node blocks (pinnable) and pod addresses.
- :mod:`bgplab.calico.keyspace` -- confd's ``/calico/...`` key space.
- :func:`bgplab.calico.confd.render_node` -- ``bird.cfg``, ``bird_aggr.cfg``,
  ``bird_ipam.cfg`` and ``bird6.cfg``, ``bird6_aggr.cfg``, ``bird6_ipam.cfg``
  exactly as Calico v3.17's confd renders them.
- :mod:`bgplab.calico.confdtests` -- run Calico-style confd test cases.
- :func:`bgplab.calico.status.node_status` -- ``calicoctl node status`` text
  from a BIRD-protocol control socket.
- :class:`bgplab.calico.agent.NodeAgent` -- runs a node's speaker (bgplabd or
  BIRD 1.6) on the rendered files and reconfigures it on change;
  :func:`bgplab.calico.agent.node_files` -- the files as a speaker loads them;
  :func:`bgplab.calico.agent.reconfigure_running` -- re-render and reconfigure
  every speaker recorded in a datastore's runtime (node agents and lab nodes).
"""
