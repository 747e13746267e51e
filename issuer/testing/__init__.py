"""The embedded Kubernetes API server (in memory, real HTTP) used by tests, `issuer apiserver` and
`issuer run --embedded`."""
