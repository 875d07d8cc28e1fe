// The benchmark's browser figure (issue #17): in Debian's headless Chromium,
// the time from pressing Enter in the search box to the results being painted,
// against a server the benchmark (benches/dangan-bench/pages.rs) started.
// Reported, not asserted. Prints one JSON line: {"samples_ms": [...]}.
//
// Environment: DANGAN_URL, DANGAN_USER, DANGAN_PASSWORD, DANGAN_QUERIES (a
// JSON list of what to type), DANGAN_ROUNDS (default 3), CHROMIUM (default
// /usr/bin/chromium).

import { chromium } from "playwright-core";

const base = process.env.DANGAN_URL;
const queries = JSON.parse(process.env.DANGAN_QUERIES);
const rounds = Number(process.env.DANGAN_ROUNDS || 3);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: "zh-CN" });
const page = await context.newPage();
await page.goto(`${base}/login?next=/search`);
await page.locator("#username").fill(process.env.DANGAN_USER);
await page.locator("#password").fill(process.env.DANGAN_PASSWORD);
await Promise.all([page.waitForURL((u) => u.pathname === "/search"), page.getByRole("button", { name: "登录" }).click()]);

const samples = [];
for (let round = 0; round < rounds; round += 1) {
  for (const q of queries) {
    // The text is put in the box without input events (typing would start a
    // search as you type); the clock starts at the Enter key's event and stops
    // at the first frame after the new results are in the document.
    await page.evaluate((q) => {
      const box = document.getElementById("q");
      const results = document.getElementById("results");
      box.value = q;
      box.focus();
      window.__bench = { start: null, painted: null };
      box.addEventListener("keydown", (e) => { if (e.key === "Enter") window.__bench.start = e.timeStamp; }, { once: true, capture: true });
      const observer = new MutationObserver(() => {
        if (!results.querySelector(".total, .empty, .error")) return;
        observer.disconnect();
        requestAnimationFrame(() => setTimeout(() => { window.__bench.painted = performance.now(); }, 0));
      });
      results.replaceChildren();
      observer.observe(results, { childList: true, subtree: true });
    }, q);
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => window.__bench.painted !== null, null, { timeout: 30000 });
    const { start, painted } = await page.evaluate(() => window.__bench);
    samples.push(painted - start);
  }
}
await browser.close();
console.log(JSON.stringify({ samples_ms: samples }));
