// Command stockcheck compares a CSV export with a physical stock count
// and prints every SKU whose quantities differ.
package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"os"
	"strconv"
)

type stockRow struct {
	SKU      string
	Quantity int
}

func readCSV(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return csv.NewReader(f).ReadAll()
}

func parseRows(records [][]string) (map[string]int, error) {
	header := records[0]
	skuCol, qtyCol := indexOf(header, "sku"), indexOf(header, "quantity")
	counts := make(map[string]int, len(records))
	for _, rec := range records[1:] {
		qty, err := strconv.Atoi(rec[qtyCol])
		if err != nil {
			return nil, fmt.Errorf("sku %s: %w", rec[skuCol], err)
		}
		counts[rec[skuCol]] = qty
	}
	return counts, nil
}

func indexOf(header []string, name string) int {
	for i, h := range header {
		if h == name {
			return i
		}
	}
	return -1
}

func main() {
	exported := flag.String("export", "inventory.csv", "CSV written by /api/export.csv")
	counted := flag.String("count", "count.csv", "CSV from the stock take")
	flag.Parse()
	a, err := readCSV(*exported)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	b, err := readCSV(*counted)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	want, _ := parseRows(a)
	got, _ := parseRows(b)
	diffs := 0
	for sku, qty := range want {
		if got[sku] != qty {
			fmt.Printf("%s\texport=%d\tcount=%d\n", sku, qty, got[sku])
			diffs++
		}
	}
	if diffs > 0 {
		os.Exit(1)
	}
}
