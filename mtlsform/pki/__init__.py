"""Certificates on pyca/cryptography: generate, import, check, export and inspect the mTLS set."""
