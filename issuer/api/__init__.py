"""The cert-manager v1 API as typed Python: constants, typed views, defaults and validation.

Pure: imports only the standard library. Everything else in the project reads manifests through it.
"""
