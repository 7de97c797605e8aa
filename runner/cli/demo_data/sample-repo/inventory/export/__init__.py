"""Exports of the inventory for spreadsheets and the stockcheck tool."""
