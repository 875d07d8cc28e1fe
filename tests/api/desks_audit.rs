//! The auditor's desk without a browser (issue #18): the log page's filter
//! against its CSV export, the verify page before and after the log is
//! tampered with, and the statistics page against counts of the log.

use serde_json::{Value, json};

use crate::desks::{page, post};
use crate::helpers::{PASSWORD, repair_order, spawn_app};
use crate::pages::{client, csrf_of, page_login};

/// The sequence numbers of the records the log page lists.
fn rows_shown(body: &str) -> Vec<u64> {
    let marker = "class=\"record\" data-seq=\"";
    body.match_indices(marker)
        .map(|(at, _)| {
            body[at + marker.len()..]
                .split('"')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect()
}

#[tokio::test]
async fn an_auditor_filters_the_log_to_one_document_and_the_export_holds_exactly_the_rows_shown() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let one = app
        .file_ok(&clerk, &repair_order(), "第一份".as_bytes())
        .await;
    let other = app
        .file_ok(&clerk, &repair_order(), "第二份".as_bytes())
        .await;
    let staff = app.token("staff_bj").await;
    for doc in [&one, &other, &one] {
        let id = doc["id"].as_str().unwrap();
        assert_eq!(
            app.get(&staff, &format!("/api/v1/documents/{id}"))
                .await
                .status(),
            200
        );
    }
    let archive_no = one["archive_no"].as_str().unwrap();
    let cookie = page_login(&app.address, "auditor", PASSWORD).await;
    let (status, body) = page(&app, &cookie, &format!("/audit?document={archive_no}")).await;
    assert_eq!(status, 200);
    let shown = rows_shown(&body);
    let want: Vec<u64> = app
        .audit_records()
        .iter()
        .filter(|r| r["archive_no"] == archive_no || r["document"] == archive_no)
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        shown, want,
        "the filing and both reads of that document, no other"
    );
    assert!(shown.len() >= 3, "{shown:?}");
    assert!(body.contains(&format!("href=\"/audit/export?document={archive_no}\"")));

    let r = client()
        .get(format!(
            "{}/audit/export?document={archive_no}",
            app.address
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = r.text().await.unwrap();
    let exported: Vec<u64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(exported, shown, "the export is the rows shown");

    // A day the form cannot read is explained beside the form, not a 500;
    // a filter that cannot be read is refused, never taken for no filter.
    let (status, body) = page(&app, &cookie, "/audit?from=yesterday").await;
    assert_eq!(status, 400);
    assert!(
        body.contains("data-error") && body.contains("from"),
        "{body}"
    );
    assert!(rows_shown(&body).is_empty());
    let bad_cursor = format!("/audit?document={archive_no}&cursor=abc");
    let (status, body) = page(&app, &cookie, &bad_cursor).await;
    assert_eq!(status, 400);
    assert!(rows_shown(&body).is_empty());
    assert_eq!(page(&app, &cookie, "/audit/export?cursor=abc").await.0, 400);
    // Each refusal is recorded, though no use case ran.
    let refused = app
        .audit_records()
        .into_iter()
        .filter(|r| r["user"] == "auditor" && r["action"] == "request.refused")
        .filter(|r| r["detail"]["status"] == 400)
        .count();
    assert_eq!(refused, 3, "the three refused filters are in the log");
    // Staff never see the log page.
    let staff_cookie = page_login(&app.address, "staff_bj", PASSWORD).await;
    assert_eq!(page(&app, &staff_cookie, "/audit").await.0, 403);
}

#[tokio::test]
async fn the_verify_page_reports_ok_then_names_the_first_record_a_tamperer_changed() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    app.file_ok(&clerk, &repair_order(), "核对".as_bytes())
        .await;
    let cookie = page_login(&app.address, "auditor", PASSWORD).await;
    let csrf = csrf_of(&app.address, &cookie).await;
    let (status, body) = page(&app, &cookie, "/audit/verify").await;
    assert_eq!(status, 200);
    assert!(
        !body.contains("data-status="),
        "no report before the button"
    );
    let r = post(&app, &cookie, &csrf, "/audit/verify", &[]).await;
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.contains("data-status=\"ok\""), "{body}");

    // One byte of record 3 changed in place, as a tamperer with file access would.
    let log = app.dir.path().join("audit/retrieval.log");
    let text = std::fs::read_to_string(&log).unwrap();
    let third = text.lines().nth(2).unwrap();
    let at = text.find(third).unwrap() + third.find("127.0.0.1").unwrap() + "127.0.0.".len();
    {
        use std::io::{Seek, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(&log).unwrap();
        f.seek(std::io::SeekFrom::Start(at as u64)).unwrap();
        f.write_all(b"2").unwrap();
    }
    let seq = serde_json::from_str::<Value>(third).unwrap()["seq"]
        .as_u64()
        .unwrap();
    let r = post(&app, &cookie, &csrf, "/audit/verify", &[]).await;
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.contains("data-status=\"damaged\""), "{body}");
    assert!(
        body.contains(&format!(">#{seq}</a>")),
        "names record {seq}: {body}"
    );
}

/// The figure of `measure` in the totals row of the statistics page.
fn total(body: &str, measure: &str) -> u64 {
    let marker = format!("class=\"total\" data-measure=\"{measure}\">");
    let at = body.find(&marker).unwrap() + marker.len();
    body[at..].split('<').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_statistics_page_counts_what_the_log_holds_and_a_supervisor_sees_their_branch() {
    let app = spawn_app().await;
    let bj = app.token("clerk_bj").await;
    let sh = app.token("clerk_sh").await;
    let mut shanghai = repair_order();
    shanghai["branch"] = json!("SH01");
    shanghai["service"]["order_no"] = json!("SH01-20260301-000001");
    let a = app.file_ok(&bj, &repair_order(), "北京一".as_bytes()).await;
    app.file_ok(&bj, &repair_order(), "北京二".as_bytes()).await;
    app.file_ok(&sh, &shanghai, "上海一".as_bytes()).await;
    let staff = app.token("staff_bj").await;
    let id = a["id"].as_str().unwrap();
    app.get(&staff, &format!("/api/v1/documents/{id}")).await;
    app.content(&staff, id).await;
    app.get(
        &app.token("staff_sh").await,
        &format!("/api/v1/documents/{id}"),
    )
    .await;

    let cookie = page_login(&app.address, "auditor", PASSWORD).await;
    let (status, body) = page(&app, &cookie, "/stats").await;
    assert_eq!(status, 200);
    let log = app.audit_records();
    let count = |action: &str, outcome: &str| {
        log.iter()
            .filter(|r| r["action"] == action && r["outcome"] == outcome)
            .count() as u64
    };
    assert_eq!(total(&body, "filings"), count("document.file", "allowed"));
    assert_eq!(total(&body, "filings"), 3);
    assert_eq!(total(&body, "reads"), count("document.view", "allowed"));
    assert_eq!(
        total(&body, "downloads"),
        count("document.content", "allowed")
    );
    let denied = log.iter().filter(|r| r["outcome"] == "denied").count() as u64;
    assert_eq!(total(&body, "denials"), denied);
    assert!(
        body.contains("<svg") && body.contains("class=\"bar m-filings\""),
        "charts"
    );
    for section in ["by-month", "by-branch", "by-category"] {
        assert!(
            body.contains(&format!("data-section=\"{section}\"")),
            "{section}"
        );
    }

    // The export is the API's CSV.
    let r = client()
        .get(format!("{}/stats/export", app.address))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let csv = r.text().await.unwrap();
    assert!(csv.starts_with("branch,category,month,filings"), "{csv}");
    assert!(csv.contains("SH01,WX,"));

    // A supervisor of BJ01 counts BJ01 only.
    let cookie = page_login(&app.address, "super_bj", PASSWORD).await;
    let (status, body) = page(&app, &cookie, "/stats").await;
    assert_eq!(status, 200);
    assert_eq!(total(&body, "filings"), 2);
    assert!(!body.contains("SH01"), "no other branch named");
}
