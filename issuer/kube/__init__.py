"""Kubernetes adapter: the only package that imports the `kubernetes` client (and only to read
kubeconfig / in-cluster credentials). `config` builds a `ClusterConfig`; `client.Client` is the async
API client (aiohttp) with `resources` naming what it addresses, `errors` the classified exceptions,
`events` the Event builder and correlator, `leader` Lease-based leader election and `informer` a
list-then-watch loop with a cache."""
