// The pages' one way to the JSON API: the session's key sent with every request, a key asked
// for (once, however many requests were refused meanwhile) when the service refuses one, and
// every failure turned into a `Problem` with the service's own detail.
"use strict";

const VerityApi = (() => {
  const KEY = "verity.key";

  class Problem extends Error {
    constructor(status, detail) { super(detail); this.status = status; }
  }

  async function api(path, options = {}) {
    const headers = { Accept: "application/json", ...(options.headers || {}) };
    if (options.body) headers["Content-Type"] = "application/json";
    const key = sessionStorage.getItem(KEY);
    if (key) headers["X-API-Key"] = key;
    let response;
    try {
      response = await fetch(path, { ...options, headers });
    } catch (error) {
      throw new Problem(0, "The service could not be reached (network error or server stopped).");
    }
    if (response.status === 401) {
      await askForKey(sessionStorage.getItem(KEY) ? "That key was refused." : "");
      return api(path, options);
    }
    if (response.status === 204) return null;
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const detail = body.detail || `${response.status} ${response.statusText || "error"}`;
      throw new Problem(response.status, typeof detail === "string" ? detail : JSON.stringify(detail));
    }
    return body;
  }

  let keyPrompt = null;
  function askForKey(message) {
    if (keyPrompt) return keyPrompt;
    const field = document.getElementById("key");
    const error = document.getElementById("key-error");
    error.hidden = !message;
    error.textContent = message;
    keyPrompt = new Promise((resolve) => {
      document.getElementById("key-form").onsubmit = () => {
        sessionStorage.setItem(KEY, field.value.trim());
        field.value = "";
        keyPrompt = null;
        resolve();
      };
      document.getElementById("key-dialog").showModal();
    });
    return keyPrompt;
  }

  const post = (path, body) => api(path, { method: "POST", body: JSON.stringify(body || {}) });

  return { api, post, Problem };
})();
