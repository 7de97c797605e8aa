#!/bin/sh
# Nightly backup of the inventory database; keeps one dump per day.
set -eu

DB_PATH="${DB_PATH:-/var/lib/inventory/inventory.db}"
BACKUP_DIR="${BACKUP_DIR:-/var/backups/inventory}"
TODAY="$(date +%Y-%m-%d)"

mkdir -p "$BACKUP_DIR"
rm -f "$BACKUP_DIR"/inventory-*.db
sqlite3 "$DB_PATH" ".backup '$BACKUP_DIR/inventory-$TODAY.db'"
echo "backup written to $BACKUP_DIR/inventory-$TODAY.db"
