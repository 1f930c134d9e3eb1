"""GoBGP backend: gRPC client for gobgpd, translate and diff."""
