// Mail as the server writes it in development: .eml files under data/mail.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The first link matching `pattern` in a mail to `to`, waiting up to 10 s for it. */
export async function mailedLink(server, to, pattern) {
  const dir = join(server.dir, "data", "mail");
  for (let i = 0; i < 100; i++) {
    let names = [];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith(".eml"));
    } catch {
      // no mail yet
    }
    for (const name of names) {
      const raw = readFileSync(join(dir, name), "utf8").replace(/=\r?\n/g, "").replace(/=3D/g, "=");
      const link = raw.includes(`To: ${to}`) && raw.match(pattern);
      if (link) return link[0];
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail to ${to} with a link like ${pattern}`);
}
