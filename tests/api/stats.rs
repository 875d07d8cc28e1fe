//! `GET /stats`: the retrieval log counted per branch, category and month
//! (spec §9), each figure equal to what the log holds.

use serde_json::{Value, json};

use crate::helpers::{error_code, repair_order, spawn_app};

/// (branch, category) → [filings, reads, downloads, denials, grants], summed
/// over months, from the rows of a `/stats` answer.
fn by_place(stats: &Value) -> std::collections::BTreeMap<(String, String), [u64; 5]> {
    let mut out = std::collections::BTreeMap::new();
    for r in stats["rows"].as_array().unwrap() {
        let key = (
            r["branch"].as_str().unwrap().to_string(),
            r["category"].as_str().unwrap().to_string(),
        );
        let counts: &mut [u64; 5] = out.entry(key).or_default();
        for (i, c) in ["filings", "reads", "downloads", "denials", "grants"]
            .iter()
            .enumerate()
        {
            counts[i] += r[c].as_u64().unwrap();
        }
    }
    out
}

#[tokio::test]
async fn statistics_count_what_the_log_holds_and_supervisors_see_their_branch() {
    let app = spawn_app().await;
    let clerk_bj = app.token("clerk_bj").await;
    let clerk_sh = app.token("clerk_sh").await;
    let staff_bj = app.token("staff_bj").await;
    let staff_sh = app.token("staff_sh").await;
    let super_bj = app.token("super_bj").await;
    let auditor = app.token("auditor").await;
    let category = repair_order()["category"].as_str().unwrap().to_string();

    let doc = app.file_ok(&clerk_bj, &repair_order(), b"bj one").await;
    app.file_ok(&clerk_bj, &repair_order(), b"bj two").await;
    let mut sh_order = repair_order();
    sh_order["branch"] = json!("SH01");
    app.file_ok(&clerk_sh, &sh_order, b"sh one").await;
    let id = doc["id"].as_str().unwrap();
    assert_eq!(
        app.get(&staff_bj, &format!("/api/v1/documents/{id}"))
            .await
            .status(),
        200
    );
    assert_eq!(app.content(&staff_bj, id).await.status(), 200);
    // Another branch's staff: refused as "not found", recorded as a denial.
    assert_eq!(
        app.get(&staff_sh, &format!("/api/v1/documents/{id}"))
            .await
            .status(),
        404
    );
    let asked = app
        .post_json(
            &staff_sh,
            "/api/v1/access-requests",
            json!({"document_id": id, "purpose": "客户投诉核查", "days": 1}),
        )
        .await;
    assert_eq!(asked.status(), 201);
    let rid = asked.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let approved = app
        .post_json(
            &super_bj,
            &format!("/api/v1/access-requests/{rid}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(approved.status(), 200);

    let r = app.get(&auditor, "/api/v1/stats").await;
    assert_eq!(r.status(), 200);
    let all: Value = r.json().await.unwrap();
    let places = by_place(&all);
    let bj = places[&("BJ01".to_string(), category.clone())];
    let sh = places[&("SH01".to_string(), category.clone())];
    assert_eq!(
        bj,
        [2, 1, 1, 1, 1],
        "BJ01: 2 filed, 1 read, 1 download, 1 denial, 1 grant"
    );
    assert_eq!(sh, [1, 0, 0, 0, 0]);

    // The totals are what the log holds, counted here by the documented rules.
    let records = app.audit_records();
    let count = |pred: &dyn Fn(&Value) -> bool| records.iter().filter(|r| pred(r)).count() as u64;
    let allowed =
        |action: &'static str| move |r: &Value| r["action"] == action && r["outcome"] == "allowed";
    let totals = &all["totals"];
    assert_eq!(totals["filings"], count(&allowed("document.file")));
    assert_eq!(totals["reads"], count(&allowed("document.view")));
    assert_eq!(totals["downloads"], count(&allowed("document.content")));
    assert_eq!(totals["grants"], count(&allowed("access.approve")));
    let denials_before = count(&|r: &Value| r["outcome"] == "denied");
    assert_eq!(totals["denials"], denials_before);
    let months: std::collections::BTreeSet<&str> = all["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["month"].as_str().unwrap())
        .collect();
    assert_eq!(months.len(), 1, "one month of records: {months:?}");

    // A supervisor sees their own branch only; staff may not ask at all.
    let own: Value = app
        .get(&super_bj, "/api/v1/stats")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        own["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["branch"] == "BJ01"),
        "{own}"
    );
    assert_eq!(by_place(&own)[&("BJ01".to_string(), category.clone())], bj);
    assert_eq!(
        error_code(app.get(&staff_bj, "/api/v1/stats").await).await,
        (403, "forbidden".into())
    );

    // The same rows as CSV (the refusal above added a row: a denial that names
    // no document counts under the caller's branch), and every answer recorded.
    let now: Value = app
        .get(&auditor, "/api/v1/stats")
        .await
        .json()
        .await
        .unwrap();
    let csv = app.get(&auditor, "/api/v1/stats?format=csv").await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("branch,category,month,filings,reads,downloads,denials,grants")
    );
    assert_eq!(lines.count(), now["rows"].as_array().unwrap().len());
    assert_eq!(
        error_code(app.get(&auditor, "/api/v1/stats?format=xls").await).await,
        (400, "invalid_format".into())
    );
    let recorded = app
        .audit_records()
        .iter()
        .filter(|r| r["action"] == "audit.stats" && r["outcome"] == "allowed")
        .count();
    assert_eq!(recorded, 4, "auditor twice, supervisor, CSV");
}
