// Entry point of the dashboard bundle.
import { exportCsvUrl } from "./api.js";
import { showPage } from "./inventoryTable.js";
import { mountLoginForm } from "./login.js";
import { mountSearchBox } from "./search.js";

document.addEventListener("DOMContentLoaded", () => {
  const table = document.querySelector("#inventory");
  const pager = document.querySelector("#pager");
  const form = document.querySelector("#login-form");
  if (form) {
    mountLoginForm(form, { onSuccess: () => window.location.assign("/") });
    return;
  }
  mountSearchBox(document.querySelector("#search"), table);
  document.querySelector("#export").href = exportCsvUrl();
  showPage(table, pager, 1);
});
