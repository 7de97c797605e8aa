"""acme/inventory: stock and warehouses behind a small JSON API."""

__version__ = "0.1.0"
