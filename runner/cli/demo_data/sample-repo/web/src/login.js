// Login form: posts the credentials and moves to the dashboard.
import { login } from "./api.js";

export function mountLoginForm(form, { onSuccess }) {
  const error = form.querySelector(".login-error");
  form.addEventListener("submit", (event) => handleLogin(event, form, error, onSuccess));
  window.addEventListener("session-expired", () => {
    window.location.assign("/login?expired=1");
  });
}

async function handleLogin(event, form, error, onSuccess) {
  event.preventDefault();
  const email = form.elements.email.value.trim();
  const password = form.elements.password.value;
  error.hidden = true;
  try {
    const { user } = await login(email, password);
    onSuccess(user);
  } catch (err) {
    if (err.status !== 401) {
      error.textContent = "Something went wrong, please try again.";
      error.hidden = false;
    }
  }
}
