"""Database access: connections, row models and the queries the API uses."""
