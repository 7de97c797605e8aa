"""Authentication: login, sessions, password hashing and API tokens."""
