// A minimal cookie-and-CSRF API client for arranging test data.
export async function signInApi(base, email, password) {
  const res = await fetch(`${base}/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  if (!res.ok) throw new Error(`sign-in failed: ${res.status}`);
  const cookie = res.headers.get("set-cookie").split(";")[0];
  const { csrf_token } = await res.json();
  const headers = { cookie, "x-csrf-token": csrf_token, "content-type": "application/json" };
  return {
    async post(path, body) {
      const r = await fetch(`${base}${path}`, { method: "POST", headers, body: JSON.stringify(body ?? {}) });
      return { status: r.status, body: await r.json().catch(() => null) };
    },
  };
}
