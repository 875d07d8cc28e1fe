// What every browser test of the front desk shares: Debian's headless
// Chromium launched the same way, numbered steps, full-page screenshots into
// the artifacts folder, axe-core on a page (no serious or critical
// violation), a user per browser context at an office screen's size, the
// login form, and the network log that proves no request left 127.0.0.1.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { AxeBuilder } from "@axe-core/playwright";

export async function harness({ base, artifacts, summary }) {
  fs.mkdirSync(artifacts, { recursive: true });
  summary.axe ??= {};
  summary.screenshots ??= [];
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  const requests = [];
  let stepNo = 0;

  async function step(name, fn) {
    stepNo += 1;
    const started = Date.now();
    try {
      await fn();
      console.log(`ok ${stepNo} - ${name} (${Date.now() - started} ms)`);
    } catch (e) {
      console.log(`not ok ${stepNo} - ${name}`);
      throw e;
    }
  }

  async function shot(page, name) {
    const file = path.join(artifacts, `${String(summary.screenshots.length + 1).padStart(2, "0")}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    summary.screenshots.push(file);
  }

  async function axe(page, name) {
    const result = await new AxeBuilder({ page }).analyze();
    const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    summary.axe[name] = { violations: result.violations.length, serious_or_critical: bad.length };
    assert.deepEqual(
      bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`),
      [],
      `axe on the ${name} page`,
    );
  }

  async function newUser(viewport = { width: 1366, height: 768 }) {
    const context = await browser.newContext({ viewport, locale: "zh-CN", acceptDownloads: true });
    context.on("request", (r) => requests.push(r.url()));
    const page = await context.newPage();
    return { context, page };
  }

  async function login(page, who, expectPath) {
    await page.goto(`${base}/login`);
    await page.getByLabel("用户名").fill(who.username);
    await page.getByLabel("密码").fill(who.password);
    await Promise.all([page.waitForURL((u) => u.pathname === expectPath), page.getByRole("button", { name: "登录" }).click()]);
  }

  async function finish() {
    await step("no request left 127.0.0.1", async () => {
      const outside = requests.filter((u) => {
        if (u.startsWith("data:") || u.startsWith("blob:")) return false;
        return new URL(u).hostname !== "127.0.0.1";
      });
      assert.deepEqual(outside, []);
      summary.requests = requests.length;
    });
    await browser.close();
    console.log(`${stepNo} passed, 0 failed`);
    console.log(JSON.stringify(summary));
  }

  return { browser, step, shot, axe, newUser, login, finish };
}
