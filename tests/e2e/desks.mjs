// The supervisor's, the auditor's and the administrator's desks end to end
// (spec §9, issue #18), in Debian's headless Chromium against the real server
// binary tests/api/desks_browser.rs started. Each step asserts what a person
// sees; each desk's pages are checked with axe and screenshotted. The last
// line printed is a JSON summary the Rust test checks against the log.
//
// Environment: DANGAN_URL, DANGAN_E2E_ARTIFACTS, DANGAN_E2E_USERS (JSON:
// {supervisor, staff, clerk, auditor, admin}, each {username, password}),
// DANGAN_E2E_DOCS (JSON: {wanted, refused, held, disposed}, each {id,
// archive_no}), DANGAN_E2E_LOG (the server's retrieval-log file, which one
// step tampers with), CHROMIUM.

import assert from "node:assert/strict";
import fs from "node:fs";
import { harness } from "./harness.mjs";

const base = process.env.DANGAN_URL;
const users = JSON.parse(process.env.DANGAN_E2E_USERS);
const docs = JSON.parse(process.env.DANGAN_E2E_DOCS);
const logFile = process.env.DANGAN_E2E_LOG;
const summary = {};
const { step, shot, axe, newUser, login, finish } = await harness({
  base,
  artifacts: process.env.DANGAN_E2E_ARTIFACTS,
  summary,
});

function records() {
  return fs.readFileSync(logFile, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

// Clicks a form's button and waits for the page the post leads to (the
// marker set on this document is gone once the next one has loaded).
async function submit(page, button) {
  await page.evaluate(() => { window.__before = true; });
  await button.click();
  await page.waitForFunction(() => window.__before === undefined);
  await page.waitForLoadState("load");
}

// ------------------------------------------------------------ the supervisor
const boss = await newUser();
await step("the supervisor lands on the approval queue: requester, target, purpose, days", async () => {
  const { page } = boss;
  await login(page, users.supervisor, "/approvals");
  const cards = page.locator("li.request");
  assert.equal(await cards.count(), 2, "both requests of staff");
  const first = cards.first();
  assert.equal(await first.locator(".requester").innerText(), users.staff.username);
  assert.match(await first.locator(".target").innerText(), new RegExp(docs.wanted.archive_no));
  assert.match(await first.locator(".purpose").innerText(), /客户投诉/);
  assert.equal(await first.locator(".days").innerText(), "2");
  await axe(page, "approvals");
  await shot(page, "approvals");
});

await step("the supervisor approves one request with a note and rejects the other", async () => {
  const { page } = boss;
  const wanted = page.locator("li.request", { hasText: docs.wanted.archive_no });
  await wanted.getByLabel("审批意见（可选）").first().fill("同意，仅限本次投诉");
  await submit(page, wanted.getByRole("button", { name: "批准", exact: true }));
  assert.match(await page.locator(".notice").innerText(), /已批准/);
  const refused = page.locator("li.request", { hasText: docs.refused.archive_no });
  await refused.getByLabel("审批意见（可选）").last().fill("用途与该档案无关");
  await submit(page, refused.getByRole("button", { name: "驳回", exact: true }));
  assert.match(await page.locator(".notice").innerText(), /已驳回/);
  assert.equal(await page.locator("li.request").count(), 0, "the queue is empty");
  assert.equal(await page.locator("tr.grant").count(), 1, "one running grant");
  await shot(page, "approvals-decided");
});

const staff = await newUser();
await step("the requester sees both outcomes and reads only the approved document", async () => {
  const { page } = staff;
  await login(page, users.staff, "/search");
  await page.goto(`${base}/requests`);
  assert.equal(await page.locator('tr.request[data-status="approved"]').count(), 1);
  assert.equal(await page.locator('tr.request[data-status="rejected"]').count(), 1);
  assert.match(await page.locator('tr.request[data-status="approved"]').innerText(), /同意，仅限本次投诉/);
  assert.match(await page.locator('tr.request[data-status="rejected"]').innerText(), /用途与该档案无关/);
  let response = await page.goto(`${base}/documents/${docs.wanted.id}`);
  assert.equal(response.status(), 200);
  assert.match(await page.locator("h1").innerText(), /销售合同/);
  response = await page.goto(`${base}/documents/${docs.refused.id}`);
  assert.equal(response.status(), 404);
});

await step("revoked on the supervisor's page, the grant reads no more", async () => {
  await submit(boss.page, boss.page.locator("tr.grant").getByRole("button", { name: /撤销授权/ }));
  assert.match(await boss.page.locator(".notice").innerText(), /撤销/);
  const response = await staff.page.goto(`${base}/documents/${docs.wanted.id}`);
  assert.equal(response.status(), 404);
  await staff.context.close();
});

// ------------------------------------------- legal hold and two-person disposal
const clerk = await newUser();
await step("the clerk's due list shows the records past retention", async () => {
  const { page } = clerk;
  await login(page, users.clerk, "/file");
  await page.goto(`${base}/retention`);
  for (const d of [docs.held, docs.disposed]) {
    assert.equal(await page.locator(`tr.due-doc[data-archive-no="${d.archive_no}"]`).count(), 1, d.archive_no);
  }
  await axe(page, "retention");
  await shot(page, "retention");
});

await step("the supervisor puts one on legal hold", async () => {
  const { page } = boss;
  await page.goto(`${base}/holds`);
  await page.getByLabel("档号或文档编号").fill(docs.held.archive_no);
  await page.getByLabel(/保全原因/).fill("客户诉讼，保全证据");
  await submit(page, page.getByRole("button", { name: "设置保全" }));
  assert.equal(await page.locator(`tr.held-doc[data-archive-no="${docs.held.archive_no}"]`).count(), 1);
  await axe(page, "holds");
  await shot(page, "holds");
});

let batch;
await step("the hold blocks the clerk's proposal, which names the held record", async () => {
  const { page } = clerk;
  // The list was loaded before the hold: both boxes are still there.
  for (const d of [docs.held, docs.disposed]) {
    await page.getByLabel(`纳入销毁 ${d.archive_no}`).check();
  }
  await page.getByLabel(/销毁理由/).fill("超过保管期限");
  await submit(page, page.getByRole("button", { name: "提出销毁" }));
  const error = await page.locator("[data-error]").innerText();
  assert.match(error, /法律保全/);
  assert.match(error, new RegExp(docs.held.archive_no));
  assert.equal(await page.locator(`tr.due-doc[data-archive-no="${docs.held.archive_no}"]`).count(), 0, "no longer listed");
  await page.getByLabel(`纳入销毁 ${docs.disposed.archive_no}`).check();
  await page.getByLabel(/销毁理由/).fill("超过保管期限");
  await submit(page, page.getByRole("button", { name: "提出销毁" }));
  assert.match(new URL(page.url()).pathname, /^\/disposals\//);
  batch = new URL(page.url()).pathname;
  assert.equal(await page.locator("dd.status").getAttribute("data-status"), "disposal.status.proposed");
  assert.equal(await page.getByRole("button", { name: "批准并执行销毁" }).count(), 0, "the proposer cannot approve");
  await clerk.context.close();
});

await step("a second person approves the batch on its page and the certificate downloads", async () => {
  const { page } = boss;
  await page.goto(`${base}/disposals`);
  assert.equal(await page.locator("li.batch").count(), 1);
  await axe(page, "disposals");
  await shot(page, "disposals");
  await page.locator("li.batch a").click();
  await page.waitForURL((u) => u.pathname === batch);
  assert.match(await page.locator("tr.line").innerText(), new RegExp(docs.disposed.archive_no));
  await submit(page, page.getByRole("button", { name: "批准并执行销毁" }));
  assert.equal(await page.locator("dd.status").getAttribute("data-status"), "disposal.status.executed");
  const [download] = await Promise.all([page.waitForEvent("download"), page.locator("a.certificate").click()]);
  const pdf = fs.readFileSync(await download.path());
  assert.equal(pdf.subarray(0, 5).toString(), "%PDF-");
  summary.certificate_bytes = pdf.length;
  await shot(page, "disposal");
});

await step("the supervisor's statistics count their branch", async () => {
  const { page } = boss;
  await page.goto(`${base}/stats`);
  const branches = await page.locator('table[data-section="by-branch"] tbody th').allInnerTexts();
  assert.deepEqual(branches, ["BJ01"], "their branch only");
  await axe(page, "stats-supervisor");
  await boss.context.close();
});

// --------------------------------------------------------------- the auditor
const auditor = await newUser();
await step("the auditor filters the log to one document; the export holds exactly the rows shown", async () => {
  const { page } = auditor;
  await login(page, users.auditor, "/audit");
  await page.getByLabel("档号或文档").fill(docs.wanted.archive_no);
  await submit(page, page.getByRole("button", { name: "筛选" }));
  const shown = await page.locator("tr.record").evaluateAll((rows) => rows.map((r) => Number(r.dataset.seq)));
  const want = records()
    .filter((r) => r.archive_no === docs.wanted.archive_no || r.document === docs.wanted.archive_no)
    .map((r) => r.seq);
  assert.deepEqual(shown, want, "the document's records, no other");
  assert.ok(shown.length >= 3, `filing, decision, reads: ${shown}`);
  await page.locator("tr.record-detail summary").first().click();
  assert.match(await page.locator("tr.record-detail dl").first().innerText(), /request_id/);
  await axe(page, "audit");
  await shot(page, "audit");
  const [download] = await Promise.all([page.waitForEvent("download"), page.locator("a.export").click()]);
  const csv = fs.readFileSync(await download.path(), "utf8").trim().split("\n");
  assert.match(csv[0], /^seq,time,user/);
  assert.deepEqual(csv.slice(1).map((l) => Number(l.split(",")[0])), shown, "CSV rows = rows shown");
  summary.audit_rows = shown.length;
});

await step("the statistics page's totals equal counts computed from the log", async () => {
  const { page } = auditor;
  await page.goto(`${base}/stats`);
  const log = records();
  const count = (action) => log.filter((r) => r.action === action && r.outcome === "allowed").length;
  const want = {
    filings: count("document.file"),
    reads: count("document.view"),
    downloads: count("document.content"),
    denials: log.filter((r) => r.outcome === "denied").length,
    grants: count("access.approve"),
  };
  const got = {};
  for (const m of Object.keys(want)) {
    got[m] = Number(await page.locator(`td.total[data-measure="${m}"]`).innerText());
  }
  assert.deepEqual(got, want);
  assert.ok(want.filings >= 4 && want.grants === 1, JSON.stringify(want));
  assert.ok((await page.locator(".chart svg rect.bar").count()) > 0, "bars drawn");
  summary.stats = got;
  await axe(page, "stats");
  await shot(page, "stats");
});

await step("the verify page reports ok, then names the first record a tamperer changed", async () => {
  const { page } = auditor;
  await page.goto(`${base}/audit/verify`);
  await submit(page, page.getByRole("button", { name: "立即校验" }));
  assert.equal(await page.locator("section.report").getAttribute("data-status"), "ok");
  await axe(page, "verify");
  await shot(page, "verify-ok");
  // One byte changed in place, in a record in the middle of the log.
  const text = fs.readFileSync(logFile, "utf8");
  const lines = text.split("\n");
  const victim = lines.findIndex((l, i) => i > 3 && l.includes('"127.0.0.1"'));
  const at = lines.slice(0, victim).reduce((n, l) => n + Buffer.byteLength(l) + 1, 0)
    + Buffer.byteLength(lines[victim].slice(0, lines[victim].indexOf('"127.0.0.1"') + 9));
  const fd = fs.openSync(logFile, "r+");
  fs.writeSync(fd, "2", at);
  fs.closeSync(fd);
  summary.tampered_seq = JSON.parse(lines[victim]).seq;
  await submit(page, page.getByRole("button", { name: "立即校验" }));
  assert.equal(await page.locator("section.report").getAttribute("data-status"), "damaged");
  assert.equal(await page.locator("dd.first-bad").innerText(), `#${summary.tampered_seq}`);
  await shot(page, "verify-damaged");
  await auditor.context.close();
});

// ------------------------------------------------------------ the administrator
const admin = await newUser();
await step("the admin creates a user on the users page", async () => {
  const { page } = admin;
  await login(page, users.admin, "/admin/users");
  await axe(page, "users");
  await page.getByLabel("用户名").fill("clerk9");
  await page.getByLabel("初始密码").fill("clerk9-password-long");
  await page.getByLabel("档案管理员").check();
  await page.getByLabel("门店").fill("BJ01");
  await submit(page, page.getByRole("button", { name: "创建用户" }));
  assert.match(await page.locator(".notice").innerText(), /clerk9/);
  assert.equal(await page.locator('tr.user[data-user="clerk9"]').count(), 1);
  await shot(page, "users");
});

await step("admin held with another role is refused and explained; nothing is created", async () => {
  const { page } = admin;
  await page.getByLabel("用户名").fill("both");
  await page.getByLabel("初始密码").fill("both-password-long-1");
  await page.getByLabel("系统管理员").check();
  await page.getByLabel("审计员").check();
  await page.getByLabel("门店").fill("*");
  await submit(page, page.getByRole("button", { name: "创建用户" }));
  assert.match(await page.locator("[data-error]").innerText(), /三员分立/);
  assert.equal(await page.locator('tr.user[data-user="both"]').count(), 0);
  assert.equal(await page.getByLabel("用户名").inputValue(), "both", "the form is kept");
  await page.goto(`${base}/admin/users/${users.admin.username}`);
  await page.getByLabel("系统管理员").uncheck();
  await page.getByLabel("档案管理员").check();
  await submit(page, page.getByRole("button", { name: "保存" }));
  assert.match(await page.locator("[data-error]").innerText(), /不能修改自己的角色/);
  assert.equal(await page.getByLabel("档案管理员").isChecked(), false, "the roles as stored");
});

await step("the admin opens no document page; the system page shows keys and the index", async () => {
  const { page } = admin;
  const response = await page.goto(`${base}/documents/${docs.wanted.id}`);
  assert.equal(response.status(), 403);
  await page.goto(`${base}/admin/system`);
  assert.equal(await page.locator("dd.rotation").getAttribute("data-status"), "idle");
  await axe(page, "system");
  await submit(page, page.getByRole("button", { name: "重建索引" }));
  assert.match(await page.locator(".notice").innerText(), /索引已重建/);
  await shot(page, "system");
});

await finish();
