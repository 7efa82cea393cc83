// A minimal cookie-and-CSRF API client for arranging test data.
import { mailedLink } from "./mail.mjs";

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
  const send = async (method, path, body, extra = {}) => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: { ...headers, ...extra },
      body: method === "GET" ? undefined : JSON.stringify(body ?? {}),
    });
    return { status: r.status, body: await r.json().catch(() => null) };
  };
  return {
    get: (path) => send("GET", path),
    post: (path, body) => send("POST", path, body),
    put: (path, body, extra) => send("PUT", path, body, extra),
    patch: (path, body, extra) => send("PATCH", path, body, extra),
  };
}

// `email` joins `org` with `roles`: `inviter` (a signInApi client) invites, the
// mailed token is read from the server's mail directory and accepted (a new
// account needs `password`).
export async function joinByInvitation(server, inviter, org, email, roles, name, password) {
  const sent = await inviter.post(`/api/v1/orgs/${org}/invitations`, { email, roles });
  if (sent.status !== 201) throw new Error(`invitation failed: ${sent.status}`);
  const link = await mailedLink(server, email, /\/invitations\/accept\?token=[\w-]+/);
  const token = link.split("token=")[1];
  const accepted = await fetch(`${server.base}/auth/invitations/accept`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token, name, password }),
  });
  if (accepted.status !== 200) throw new Error(`accepting failed: ${accepted.status}`);
}
