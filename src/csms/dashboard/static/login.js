import { api } from "./app.js";

const params = new URLSearchParams(location.search);
document.getElementById("expired").hidden = !params.get("expired");

// Only a path of this site: never send the browser elsewhere after signing in.
function nextPage() {
  const next = params.get("next") || "/";
  return next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const error = document.getElementById("login-error");
  error.textContent = "";
  try {
    await api("/auth/login", {
      method: "POST",
      redirect: false,
      body: { name: form.name.value, password: form.password.value },
    });
    location.assign(nextPage());
  } catch (e) {
    error.textContent = e.status === 401 ? "Wrong account name or password."
      : e.status === 429 ? "Too many failed attempts: wait a few minutes and try again."
      : `Sign-in failed: ${e.message}`;
    form.password.select();
  }
});
