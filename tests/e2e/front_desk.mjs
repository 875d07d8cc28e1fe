// The front desk end to end, in Debian's headless Chromium, against the real
// server binary that tests/api/front_desk.rs started (spec §9, issue #17).
// Each step asserts what a person sees; every page is screenshotted into
// $DANGAN_E2E_ARTIFACTS. The last line printed is a JSON summary the Rust
// test checks against the retrieval log.
//
// Environment: DANGAN_URL, DANGAN_E2E_ARTIFACTS, DANGAN_E2E_FILES (JSON:
// {pdf, text_a, text_b}), DANGAN_E2E_USERS (JSON: {clerk, staff, stranger}
// each {username, password}), DANGAN_E2E_OTHER_DOC (an archive number of
// another branch), DANGAN_E2E_VIN, CHROMIUM (default /usr/bin/chromium).

import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { harness } from "./harness.mjs";

const base = process.env.DANGAN_URL;
const artifacts = process.env.DANGAN_E2E_ARTIFACTS;
const files = JSON.parse(process.env.DANGAN_E2E_FILES);
const users = JSON.parse(process.env.DANGAN_E2E_USERS);
const otherDoc = process.env.DANGAN_E2E_OTHER_DOC;
const vin = process.env.DANGAN_E2E_VIN;
const summary = { archive_nos: [], ids: [], axe: {}, screenshots: [] };
const { step, shot, axe, newUser, login, finish } = await harness({ base, artifacts, summary });

// ---------------------------------------------------------------- the clerk
const clerk = await newUser();
let firstDoc;
await step("the login page is in Chinese, accessible, and refuses a wrong password", async () => {
  const { page } = clerk;
  const response = await page.goto(`${base}/login`);
  const csp = response.headers()["content-security-policy"];
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(response.headers()["x-frame-options"], "DENY");
  assert.equal(response.headers()["x-content-type-options"], "nosniff");
  assert.equal(await page.locator("html").getAttribute("lang"), "zh-CN");
  await axe(page, "login");
  await shot(page, "login");
  await page.getByLabel("用户名").fill(users.clerk.username);
  await page.getByLabel("密码").fill("not-the-password");
  await page.getByRole("button", { name: "登录" }).click();
  await page.locator("#login-error").waitFor();
  assert.match(await page.locator("#login-error").innerText(), /用户名或密码错误/);
});

await step("the clerk logs in and lands on the filing desk; the cookie is HttpOnly, SameSite=Strict, Path=/", async () => {
  await login(clerk.page, users.clerk, "/file");
  const cookies = await clerk.context.cookies(base);
  const session = cookies.find((c) => c.name === "dangan_session");
  assert.ok(session, "a session cookie");
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, "Strict");
  assert.equal(session.path, "/");
  assert.equal(session.secure, false, "plain HTTP here; Secure over HTTPS is the TLS test's");
  summary.cookie = { httpOnly: session.httpOnly, sameSite: session.sameSite, path: session.path };
});

await step("the filing form checks the VIN as it is typed and marks the category's required fields", async () => {
  const { page } = clerk;
  await page.getByLabel("类别").selectOption("WX");
  assert.equal(await page.locator('[data-req-for="vehicle.vin"]').isVisible(), true);
  assert.equal(await page.locator('[data-req-for="service.service_date"]').isVisible(), true);
  const wrong = vin.slice(0, 8) + (vin[8] === "0" ? "1" : "0") + vin.slice(9);
  await page.locator("#f-vehicle\\.vin").fill(wrong);
  assert.match(await page.locator("#m-vehicle\\.vin").innerText(), /校验位/);
  assert.equal(await page.locator("#f-vehicle\\.vin").getAttribute("aria-invalid"), "true");
  await page.locator("#f-vehicle\\.vin").fill(vin);
  assert.match(await page.locator("#m-vehicle\\.vin").innerText(), /校验通过/);
  await page.locator("#f-vehicle\\.plate").fill("京A 1");
  assert.match(await page.locator("#m-vehicle\\.plate").innerText(), /车牌格式/);
  await page.locator("#f-vehicle\\.plate").fill("京A·12345");
  assert.equal(await page.locator("#m-vehicle\\.plate").innerText(), "");
  await axe(page, "filing");
  await shot(page, "filing-form");
});

await step("the clerk files a Chinese PDF by choosing it and sees its archive number", async () => {
  const { page } = clerk;
  await page.getByLabel("标题").fill("前刹车片更换委托书");
  await page.locator("#f-service\\.service_date").fill("2026-11-20");
  await page.locator("#f-customer\\.name").fill("王先生");
  await page.locator("#f-customer\\.phone").fill("13812345678");
  await page.locator("#files").setInputFiles(files.pdf);
  await page.getByRole("button", { name: "归档", exact: true }).click();
  await page.locator(".upload.done").first().waitFor();
  const no = await page.locator(".upload.done [data-archive-no]").first().getAttribute("data-archive-no");
  assert.match(no, /^BJ01-WX-\d{4}-\d{6}$/);
  summary.archive_nos.push(no);
});

await step("the clerk drops two files at once: each gets its own archive number", async () => {
  const { page } = clerk;
  await page.getByLabel("标题").fill("保养检查记录");
  const dropped = [files.text_a, files.text_b].map((f) => ({
    name: path.basename(f),
    b64: fs.readFileSync(f).toString("base64"),
  }));
  const dataTransfer = await page.evaluateHandle((list) => {
    const dt = new DataTransfer();
    for (const f of list) {
      const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], f.name, { type: "text/plain" }));
    }
    return dt;
  }, dropped);
  await page.dispatchEvent("#drop", "drop", { dataTransfer });
  assert.equal(await page.locator(".upload").count(), 3);
  await page.getByRole("button", { name: "归档", exact: true }).click();
  await page.waitForFunction(() => document.querySelectorAll(".upload.done").length === 3);
  const nos = await page.locator(".upload.done [data-archive-no]").evaluateAll((els) => els.map((e) => e.dataset.archiveNo));
  assert.equal(new Set(nos).size, 3, "three distinct archive numbers");
  summary.archive_nos = nos;
  await shot(page, "filing-done");
});

await step("the clerk corrects the first document's title with a reason", async () => {
  const { page } = clerk;
  await Promise.all([page.waitForURL(/\/documents\//), page.locator(".upload.done a").first().click()]);
  firstDoc = new URL(page.url()).pathname.split("/")[2];
  summary.ids.push(firstDoc);
  await page.locator("#fix-title").fill("前刹车片及刹车盘更换委托书");
  await page.locator("#fix-reason").fill("客户要求更正标题");
  await Promise.all([page.waitForURL(/done=correct/), page.getByRole("button", { name: "保存更正" }).click()]);
  assert.match(await page.locator(".notice").innerText(), /已更正/);
  assert.equal(await page.locator("tr.correction").count(), 1);
  assert.match(await page.locator("h1").innerText(), /刹车盘/);
});

await step("the clerk adds a version with a reason", async () => {
  const { page } = clerk;
  await page.locator("#version-reason").fill("补充客户签字页");
  await page.locator("#version-file").setInputFiles(files.pdf);
  await Promise.all([page.waitForURL(/done=version/), page.getByRole("button", { name: "保存新版本" }).click()]);
  assert.match(await page.locator(".notice").innerText(), /新版本已保存/);
  assert.equal(await page.locator("section[aria-labelledby=versions-h] tbody tr").count(), 2);
  await shot(page, "document-clerk");
});

await step("the clerk logs out and the old cookie opens nothing", async () => {
  const { page, context } = clerk;
  const before = (await context.cookies(base)).find((c) => c.name === "dangan_session");
  await Promise.all([page.waitForURL(/\/login$/), page.getByRole("button", { name: "退出" }).click()]);
  await context.addCookies([{ ...before }]);
  await page.goto(`${base}/file`);
  assert.equal(new URL(page.url()).pathname, "/login");
});

// ---------------------------------------------------------------- the staff
const staff = await newUser();
await step("staff search by a Chinese word typed through an IME: nothing fires mid-composition", async () => {
  const { page, context } = staff;
  await login(page, users.staff, "/search");
  const fragments = [];
  page.on("request", (r) => { if (r.url().includes("/search/results")) fragments.push(r.url()); });
  const cdp = await context.newCDPSession(page);
  await page.locator("#q").focus();
  for (const partial of ["z", "zh", "zhi", "zhid", "zhidong"]) {
    await cdp.send("Input.imeSetComposition", { text: partial, selectionStart: partial.length, selectionEnd: partial.length });
    await page.waitForTimeout(150);
  }
  await page.waitForTimeout(700);
  assert.deepEqual(fragments, [], "no search while composing");
  await cdp.send("Input.insertText", { text: "制动液" });
  await page.waitForFunction(() => document.querySelector("#results .hit") !== null);
  assert.equal(fragments.length, 1, "one search once the composition was committed");
  assert.match(decodeURIComponent(fragments[0]), /q=制动液/);
  const titles = await page.locator(".hit h3").allInnerTexts();
  assert.ok(titles.some((t) => t.includes("刹车盘")), `the corrected PDF is found: ${titles}`);
  assert.ok((await page.locator(".snippet b").count()) >= 1, "the word is highlighted in the snippet");
  assert.ok((await page.locator(".facets a").count()) >= 3, "category, branch and year facets");
  assert.match(page.url(), /\/search\?q=/, "the address bar holds the search");
  await axe(page, "search");
  await shot(page, "search");
});

await step("staff find the vehicle by its VIN's last six characters and by its plate", async () => {
  const { page } = staff;
  await page.locator("#q").fill(vin.slice(-6));
  await page.locator("#q").press("Enter");
  await page.waitForFunction(() => document.querySelector("[data-total]")?.dataset.total === "3");
  await page.locator("#q").fill("京A12345");
  await page.locator("#q").press("Enter");
  await page.waitForFunction(() => document.querySelector("[data-total]")?.dataset.total === "3"
    && document.querySelector("#results .hit") !== null);
  await page.locator("#q").fill("京A99999");
  await page.locator("#q").press("Enter");
  await page.locator(".empty").waitFor();
  assert.match(await page.locator(".empty").innerText(), /没有找到/);
});

await step("staff open the vehicle's timeline (一车一档)", async () => {
  const { page } = staff;
  await page.goto(`${base}/vehicles/${vin}`);
  assert.equal(await page.locator(".timeline .event").count(), 3);
  assert.match(await page.locator("h1").innerText(), /一车一档/);
  await axe(page, "timeline");
  await shot(page, "vehicle-timeline");
  await page.goto(`${base}/customers?phone=138-1234-5678`);
  assert.equal(await page.locator(".timeline .event").count(), 3, "the customer's history by phone");
  assert.match(await page.locator("[data-subject]").innerText(), /138\*{4}5678/);
});

await step("staff preview the Chinese PDF: pdf.js draws it with its text layer", async () => {
  const { page } = staff;
  await page.goto(`${base}/documents/${firstDoc}`);
  await page.waitForFunction(() => document.querySelector("#pdf-preview")?.dataset.rendered
    || document.querySelector("#pdf-preview")?.dataset.error, null, { timeout: 30000 });
  const error = await page.locator("#pdf-preview").getAttribute("data-error");
  assert.equal(error, null, `pdf.js failed: ${error}`);
  const text = await page.locator("#pdf-preview .textLayer").first().innerText();
  assert.match(text.replace(/\s/g, ""), /制动液/, `text layer: ${text}`);
  assert.match(await page.locator("[data-field='customer.phone']").innerText(), /138\*{4}5678/, "the phone masked");
  await axe(page, "document");
  await shot(page, "document-preview");
});

await step("staff ask for access to a document of another branch and see it pending", async () => {
  const { page } = staff;
  await page.goto(`${base}/requests?document=${encodeURIComponent(otherDoc)}`);
  await page.getByLabel("用途").fill("客户投诉复核");
  await page.getByLabel("期限（天）").fill("2");
  await Promise.all([page.waitForURL(/sent=1/), page.getByRole("button", { name: "提交申请" }).click()]);
  assert.match(await page.locator(".notice").innerText(), /已提交/);
  assert.equal(await page.locator("tr.request[data-status=pending]").count(), 1);
  await axe(page, "requests");
  await shot(page, "access-requests");
});

await step("a form posted from another site is refused (CSRF) and changes nothing", async () => {
  const { page } = staff;
  const forged = http.createServer((req, res) => {
    res.setHeader("content-type", "text/html; charset=utf-8");
    res.end(`<!DOCTYPE html><form id=f method=post action="${base}/requests">
      <input name=document value="${otherDoc}"><input name=purpose value=forged-request>
      <input name=days value=21></form><script>document.getElementById('f').submit()</script>`);
  });
  await new Promise((r) => forged.listen(0, "127.0.0.1", r));
  const { port } = forged.address();
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url() === `${base}/requests` && r.request().method() === "POST"),
    page.goto(`http://127.0.0.1:${port}/`),
  ]);
  assert.equal(response.status(), 403);
  await page.locator("[data-error]").waitFor();
  assert.match(await page.locator("[data-error]").innerText(), /表单已过期或来自其他网站/);
  forged.close();
  await page.goto(`${base}/requests`);
  assert.equal(await page.locator("tr.request").count(), 1, "still one request");
  summary.forged_purpose = "forged-request";
});

await step("an ended session returns to the login page, then to the page asked for", async () => {
  const { page, context } = staff;
  const cookies = await context.cookies(base);
  const session = cookies.find((c) => c.name === "dangan_session");
  await context.addCookies([{ ...session, value: "ended-session-0000000000000000000000000000" }]);
  await page.goto(`${base}/vehicles/${vin}`);
  assert.equal(new URL(page.url()).pathname, "/login");
  assert.equal(new URL(page.url()).searchParams.get("next"), `/vehicles/${vin}`);
  assert.match(await page.locator(".notice").innerText(), /会话已结束/);
  await page.getByLabel("用户名").fill(users.staff.username);
  await page.getByLabel("密码").fill(users.staff.password);
  await Promise.all([page.waitForURL((u) => u.pathname === `/vehicles/${vin}`), page.getByRole("button", { name: "登录" }).click()]);
  assert.equal(await page.locator(".timeline .event").count(), 3);
});

await step("the English switch is remembered", async () => {
  const { page } = staff;
  await Promise.all([page.waitForLoadState("load"), page.getByRole("button", { name: "English" }).click()]);
  assert.equal(await page.locator("html").getAttribute("lang"), "en");
  await page.goto(`${base}/search`);
  assert.equal(await page.locator("html").getAttribute("lang"), "en");
  assert.ok(await page.getByRole("button", { name: "Search", exact: true }).isVisible());
});

await step("the search page fits a 10-inch tablet", async () => {
  const tablet = await newUser({ width: 800, height: 1280 });
  await login(tablet.page, users.staff, "/search");
  await tablet.page.locator("#q").fill("制动液");
  await tablet.page.locator("#q").press("Enter");
  await tablet.page.locator("#results .hit").first().waitFor();
  const overflow = await tablet.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no sideways scrolling (${overflow}px)`);
  await shot(tablet.page, "search-tablet");
  await tablet.context.close();
});

// ------------------------------------------------------- another branch's staff
await step("staff of another branch find nothing of it", async () => {
  const { page, context } = await newUser();
  await login(page, users.stranger, "/search");
  for (const q of [vin.slice(-8), "京A12345", "制动液", "刹车盘"]) {
    await page.locator("#q").fill(q);
    await page.locator("#q").press("Enter");
    await page.waitForFunction((text) => new URL(location.href).searchParams.get("q") === text
      && document.querySelector("#results .empty, #results .hit, #results [data-error]"), q);
    const seen = await page.locator(".hit h3").allInnerTexts();
    assert.deepEqual(seen, [], `the other branch searching ${q}`);
  }
  const response = await page.goto(`${base}/documents/${firstDoc}`);
  assert.equal(response.status(), 404);
  assert.match(await page.locator("[data-error]").innerText(), /没有找到/);
  await page.goto(`${base}/vehicles/${vin}`);
  assert.equal(await page.locator(".timeline .event").count(), 0);
  await context.close();
});

await finish();
