// Search box above the inventory table.
import { fetchItems } from "./api.js";
import { renderTable } from "./inventoryTable.js";

export function mountSearchBox(input, table) {
  input.addEventListener("input", () => runSearch(input.value, table));
}

export async function runSearch(query, table) {
  const page = await fetchItems({ q: query });
  renderResults(page.items, query, table);
}

export function renderResults(items, query, table) {
  if (items.length === 0) {
    table.innerHTML = `<tr><td colspan="5">No items match "${query}"</td></tr>`;
    return;
  }
  renderTable(table, items);
}
