module github.com/acme/inventory/tools/stockcheck

go 1.20
