"""mtlsform: declarative mutual-TLS HTTPS entry points on Tencent Cloud Load Balancer."""

__version__ = "0.1.0"
