"""issuer: a cert-manager-compatible certificate controller for Kubernetes.

The package is layered (see DESIGN.md): a pure core (`api`, `pki`, `policies`, `controllers`,
`signers`), adapters (`kube`, `acme`), the kopf operator (`operator`), the embedded API server
(`testing`) and the command line (`cli`).
"""

__version__ = "0.1.0"
