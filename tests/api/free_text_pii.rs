//! Personal data typed into free text (spec §3): phone and ID numbers in every
//! common writing, generated, inside titles, summaries, transcripts, file text,
//! purposes, reasons and queries, never come back in a response or a snippet,
//! never reach the index's files or the retrieval log.

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

use dangan::corpus::{id_number, phone};

use crate::helpers::{repair_order, spawn_app};

/// The ways people write a mobile number.
fn writings(p: &str) -> Vec<String> {
    let fw = |s: &str| -> String {
        s.chars()
            .map(|c| char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap())
            .collect()
    };
    vec![
        p.to_string(),
        format!("{}-{}-{}", &p[..3], &p[3..7], &p[7..]),
        format!("{} {} {}", &p[..3], &p[3..7], &p[7..]),
        format!("+86 {p}"),
        format!("+86{p}"),
        fw(p),
    ]
}

/// Text with separators removed and full-width digits folded, so that any
/// writing of a number shows as its bare digits.
fn bare(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '－' | '\u{3000}' | '\u{a0}'))
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap(),
            _ => c,
        })
        .collect()
}

fn assert_absent(what: &str, text: &str, secrets: &[String]) {
    let bare = bare(text);
    for s in secrets {
        assert!(!bare.contains(s.as_str()), "{what} holds {s}");
    }
}

#[tokio::test]
async fn phone_and_id_numbers_in_free_text_are_masked_everywhere() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let staff = app.token("staff_bj").await;
    let mut rng = StdRng::seed_from_u64(20261130);
    let mut secrets = vec![];
    let mut ids = vec![];
    for round in 0..6 {
        let p = phone(&mut rng);
        let id = id_number(&mut rng);
        secrets.push(p.clone());
        secrets.push(id.clone());
        let w = writings(&p)[round].clone();
        let id_written = if round % 2 == 0 {
            id.clone()
        } else {
            format!("{} {} {}", &id[..6], &id[6..14], &id[14..])
        };
        let mut meta = repair_order();
        meta["title"] = json!(format!("回访客户 {w} 刹车异响"));
        meta["summary"] = json!(format!("客户电话{w}，身份证{id_written}"));
        meta["transcript"] = json!(format!("手写备注：联系 {w}"));
        let body = format!("结算单 离合器总成 客户 {w} 证件 {id_written}\n");
        let doc = app.file_ok(&clerk, &meta, body.as_bytes()).await;
        assert_absent("the filing's answer", &doc.to_string(), &secrets);
        ids.push(doc["id"].as_str().unwrap().to_string());
        // A correction's reason and a request's purpose carry numbers too.
        let r = app
            .client
            .patch(app.url(&format!("/api/v1/documents/{}", ids[round])))
            .bearer_auth(&clerk)
            .json(&json!({"changes": {"summary": format!("更正 {w}")}, "reason": format!("客户 {w} 来电更正")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let staff_sh = app.token("staff_sh").await;
        let r = app
            .client
            .post(app.url("/api/v1/access-requests"))
            .bearer_auth(&staff_sh)
            .json(&json!({"document_id": ids[round], "purpose": format!("回电 {w}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        assert_absent(
            "an access request's answer",
            &r.text().await.unwrap(),
            &secrets,
        );
    }
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    for id in &ids {
        let view = app
            .get(&staff, &format!("/api/v1/documents/{id}"))
            .await
            .text()
            .await
            .unwrap();
        assert_absent("a metadata view", &view, &secrets);
    }
    let found = app
        .get(&staff, "/api/v1/search?q=%E7%A6%BB%E5%90%88%E5%99%A8")
        .await
        .text()
        .await
        .unwrap();
    let hits: Value = serde_json::from_str(&found).unwrap();
    assert_eq!(hits["total"], 6, "{hits}");
    assert_absent("search results and snippets", &found, &secrets);
    // Queries for a number in any writing are logged masked.
    for w in writings(&secrets[0]) {
        let q = url::form_urlencoded::byte_serialize(w.as_bytes()).collect::<String>();
        app.get(&staff, &format!("/api/v1/search?q={q}")).await;
    }
    let queue = app
        .get(&app.token("super_bj").await, "/api/v1/access-requests")
        .await
        .text()
        .await
        .unwrap();
    assert_absent("the supervisors' queue", &queue, &secrets);
    let history = app
        .get(
            &staff,
            &format!(
                "/api/v1/vehicles/{}/documents",
                repair_order()["vehicle"]["vin"].as_str().unwrap()
            ),
        )
        .await
        .text()
        .await
        .unwrap();
    assert_absent("a vehicle's history", &history, &secrets);
    let log = std::fs::read_to_string(app.dir.path().join("audit/retrieval.log")).unwrap();
    assert_absent("the retrieval log", &log, &secrets);
    // The index's files, byte by byte.
    let (dir, _) = app.stop().await;
    for entry in std::fs::read_dir(dir.path().join("index"))
        .unwrap()
        .flatten()
    {
        let bytes = std::fs::read(entry.path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert_absent(
            &format!("index file {:?}", entry.file_name()),
            &text,
            &secrets,
        );
    }
}
