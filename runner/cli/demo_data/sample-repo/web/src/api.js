// Thin wrapper around fetch for the inventory JSON API.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function apiRequest(path, { method = "GET", body } = {}) {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  if (response.status === 401) {
    window.dispatchEvent(new CustomEvent("session-expired"));
  }
  if (!response.ok) {
    throw new ApiError(response.status, `${method} ${path} failed: ${response.status}`);
  }
  return response.status === 204 ? null : response.json();
}

export function fetchItems({ page = 1, perPage = 50, q = "" } = {}) {
  const params = new URLSearchParams({ page, per_page: perPage });
  if (q) params.set("q", q);
  return apiRequest(`/api/items?${params}`);
}

export function login(email, password) {
  return apiRequest("/api/login", { method: "POST", body: { email, password } });
}

export function logout() {
  return apiRequest("/api/logout", { method: "POST" });
}

export function exportCsvUrl() {
  return "/api/export.csv";
}
