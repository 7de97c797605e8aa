"""acme/inventory: stock, orders and warehouses behind a small JSON API."""

__version__ = "0.4.0"
