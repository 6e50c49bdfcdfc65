import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { startHerald } from "../support/herald.js";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const OUTPUT = fileURLToPath(new URL("../../../test-output/", import.meta.url));

/**
 * Debian's Chromium, headless, kept off the network it cannot reach (see browser-tests.md in the
 * team's shared notes). Playwright gives it a fresh empty profile of its own.
 */
function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's (apt-get install chromium; .ci/run does) or set CHROMIUM`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

async function row(page: Page, topic: string, key: string): Promise<string> {
  const cell = page.locator(`article[data-topic="${topic}"] tr[data-key="${key}"] td.data`);
  await cell.waitFor({ timeout: 10_000 });
  return (await cell.textContent()) ?? "";
}

async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(OUTPUT, { recursive: true });
  await page.screenshot({ path: join(OUTPUT, name), fullPage: true });
}

test("the demo page: subscribes, shows publishes live, survives a server close and a 4008", async () => {
  // The browser first: without one the test fails at once, before it has started anything.
  const browser = await launch();
  const first = await startHerald({ "presence.topics.0": "demo:*" }).catch(async (error) => {
    await browser.close();
    throw error;
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    await page.goto(first.http);
    await page.locator('#connection[data-state="open"]').waitFor({ timeout: 10_000 });
    const board = page.locator('article[data-topic="demo:board"] .status[data-status="live"]');
    await board.waitFor({ timeout: 10_000 });

    await first.publish({ topic: "demo:board", op: "set", key: "hello", data: { text: "from the HTTP API" } });
    assert.match(await row(page, "demo:board", "hello"), /from the HTTP API/);

    // Presence: the page is a member of the topics it shows; a second page joins and leaves.
    const presence = page.locator('article[data-topic="demo:board"] .presence');
    await presence.filter({ hasText: "(this page)" }).waitFor({ timeout: 10_000 });
    const other = await browser.newPage();
    await other.goto(first.http);
    await page.locator('article[data-topic="demo:board"] .presence[data-count="2"]').waitFor({ timeout: 10_000 });
    await other.close();
    await page.locator('article[data-topic="demo:board"] .presence[data-count="1"]').waitFor({ timeout: 10_000 });

    await page.fill("#publish-key", "typed");
    await page.fill("#publish-data", '{"text": "from the page"}');
    await page.click('#publish-form button[type="submit"]');
    await page.locator("#publish-result", { hasText: "seq 2" }).waitFor({ timeout: 10_000 });
    assert.match(await row(page, "demo:board", "typed"), /from the page/);
    assert.deepEqual(await first.state("demo:board").then((s) => s.entries.map((e: any) => e.key)), ["hello", "typed"]);
    await screenshot(page, "demo-live.png");

    await first.stop();
    await page.locator('#connection[data-state="reconnecting"]').waitFor({ timeout: 10_000 });
    // The log, not the live status line: the next attempt may already have failed (1006) against the stopped server.
    await page.locator("#log li", { hasText: "after 1001 server shutting down" }).first().waitFor({ timeout: 10_000 });
    const second = await startHerald({}, first.port);
    try {
      await page.locator('#connection[data-state="open"]').waitFor({ timeout: 15_000 });
      await second.publish({ topic: "demo:board", op: "set", key: "again", data: "after the restart" });
      assert.match(await row(page, "demo:board", "again"), /after the restart/);
      assert.equal(await page.locator('article[data-topic="demo:board"] tbody tr').count(), 1,
        "the table shows the restarted server's state, not the old entries");

      await page.fill("#stall-seconds", "4");
      await page.click("#stall");
      await page.locator("#log li", { hasText: "4008" }).first().waitFor({ timeout: 30_000 });
      await page.locator('#connection[data-state="open"]').waitFor({ timeout: 15_000 });
      await page.locator('article[data-topic^="demo:stall"] .status[data-status="live"]').waitFor({ timeout: 15_000 });
      assert.match(await row(page, "demo:board", "again"), /after the restart/);
      // The board did not change while the page was away: it resumed with an empty delta, not a full snapshot.
      await page.locator('article[data-topic="demo:board"] .snapshot[data-kind="delta"]',
        { hasText: "resumed: 0 changed, 0 removed" }).waitFor({ timeout: 10_000 });

      await page.fill("#publish-key", "again");
      await page.fill("#publish-if-version", "99");
      await page.click('#publish-form button[type="submit"]');
      await page.locator("#publish-result", { hasText: "conflict: again is at version 1" }).waitFor({ timeout: 10_000 });
      assert.match(await row(page, "demo:board", "again"), /after the restart/, "the conflicting change was not applied");
      assert.match(second.output(), /slow consumer/i);
      await screenshot(page, "demo-after-4008.png");
      assert.deepEqual(problems, []);
    } finally {
      await second.stop();
    }
  } finally {
    await first.stop();
    await browser.close();
  }
});
