// The audit log page: newest first with more on scroll, filters, an event's
// before/after diff, chain verification and an export with progress.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

import { signInApi } from "./lib/api.mjs";
import { launchChromium, signInThroughPage, watchForErrors } from "./lib/browser.mjs";
import { startAttest } from "./lib/server.mjs";

const artifacts = join(dirname(fileURLToPath(import.meta.url)), "artifacts");
const PASSWORD = "a quiet violet harbour";
const ROLES = 60;
let server;
let browser;

before(async () => {
  server = await startAttest();
  server.createOperator("ada@example.com", PASSWORD);
  const ada = await signInApi(server.base, "ada@example.com", PASSWORD);
  await ada.post("/api/v1/orgs", { slug: "acme", name: "Acme" });
  for (let i = 0; i < ROLES; i++) {
    const res = await ada.post("/api/v1/orgs/acme/roles", { name: `role-${i}`, permissions: ["org:read"] });
    assert.equal(res.status, 201);
  }
  const renamed = await ada.patch("/api/v1/orgs/acme", { name: "Acme Corp" }, { "if-match": "*" });
  assert.equal(renamed.status, 200);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const rows = (page) => page.locator("[data-testid=audit-events] tr.event");

test("the audit log lists, filters, details, verifies and exports the trail", async () => {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const errors = watchForErrors(page);
  await signInThroughPage(page, server.base, "ada@example.com", PASSWORD);
  await page.click("a:has-text('Audit log')");
  await page.waitForURL(`${server.base}/orgs/acme/audit`);

  // org.created, a sign-in, 60 roles and the rename: more than one page of 50.
  const total = ROLES + 3;
  await page.waitForFunction(() => document.querySelectorAll("tr.event").length === 50);
  assert.equal(await rows(page).first().getAttribute("data-action"), "auth.signed_in", "newest first: this sign-in");
  await page.mouse.wheel(0, 100000);
  await page.waitForFunction((n) => document.querySelectorAll("tr.event").length === n, total);
  await page.waitForSelector("[data-testid=audit-end]:has-text('that is all')");

  // Filtering by action starts the list over.
  await page.fill("[data-testid=audit-filters] label:has-text('Action') input", "org.renamed");
  await page.click("[data-testid=audit-filters] button[type=submit]");
  await page.waitForFunction(() => document.querySelectorAll("tr.event").length === 1);
  await rows(page).first().click();
  const diff = page.locator("[data-testid=event-diff] tr.changed");
  await diff.waitFor();
  assert.deepEqual(await diff.locator("td").allTextContents(), ["name", '"Acme"', '"Acme Corp"']);
  await page.screenshot({ path: join(artifacts, "audit.png"), fullPage: true });

  await page.click("[data-testid=verify-chain]");
  await page.waitForSelector(`[data-testid=verify-result]:has-text('Chain intact: ${total} events')`);

  const [download] = await Promise.all([page.waitForEvent("download"), page.click("[data-testid=export-jsonl]")]);
  assert.match(download.suggestedFilename(), /^acme-audit-\d{8}T\d{6}Z\.jsonl$/);
  const lines = (await readFile(await download.path(), "utf8")).trim().split("\n");
  assert.equal(lines.length, total);
  assert.equal(JSON.parse(lines[0]).action, "org.created");
  await page.waitForSelector(`[data-testid=export-progress]:has-text('Exported ${total} events')`);
  // Chromium reports the export's fetch, read to its end through a stream reader, as
  // ERR_ABORTED once the download starts (a plain fetch of the same URL reports nothing);
  // every byte arrived, as the file's contents above show. Anything else is an error.
  const streamedExport = /^request failed: .*\/audit-events\/export\?format=jsonl net::ERR_ABORTED$/;
  assert.deepEqual(errors.filter((e) => !streamedExport.test(e)), []);
  await context.close();
});
