"""JSON API handlers: each takes (request, conn, settings) and returns (status, headers, payload)."""
