// Inventory table with sortable columns and pagination controls.
import { fetchItems } from "./api.js";

const COLUMNS = [
  { key: "sku", label: "SKU", sortable: true },
  { key: "name", label: "Name", sortable: true },
  { key: "warehouse_id", label: "Warehouse", sortable: true },
  { key: "quantity", label: "Quantity", sortable: false },
  { key: "price_cents", label: "Price", sortable: false },
];

export function sortItems(items, key, direction = 1) {
  return [...items].sort((a, b) => String(a[key]).localeCompare(String(b[key])) * direction);
}

export function renderTable(table, items) {
  const rows = items.map(
    (item) => `<tr>${COLUMNS.map((col) => `<td>${formatCell(col.key, item[col.key])}</td>`).join("")}</tr>`,
  );
  table.querySelector("tbody").innerHTML = rows.join("");
}

function formatCell(key, value) {
  return key === "price_cents" ? (value / 100).toFixed(2) : String(value);
}

export async function showPage(table, pager, page) {
  const result = await fetchItems({ page });
  renderTable(table, result.items);
  pager.querySelector(".page-number").textContent = `Page ${result.page}`;
  pager.querySelector(".next").disabled = !result.has_next;
}
