//! Search over a few hundred generated records: exact recall for Chinese terms,
//! lookups by VIN tail, plate and phone, facets that add up, and nothing leaking
//! across branches or clearance levels.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dangan::corpus::{FAULTS, Record, generate};
use serde_json::Value;

use crate::helpers::{TestApp, error_code, repair_order, spawn_app};

struct Corpus {
    app: TestApp,
    /// (document id, record) for every filed record.
    docs: Vec<(String, Record)>,
}

/// Files `n` generated records as a group-level clerk, 8 at a time.
async fn filed_corpus(n: usize) -> Corpus {
    let app = Arc::new(spawn_app().await);
    let clerk = app.token("clerk_all").await;
    let records = generate(n, 11);
    let mut docs = Vec::with_capacity(n);
    for batch in records.chunks(8) {
        let mut tasks = vec![];
        for r in batch.iter().cloned() {
            let (app, clerk) = (app.clone(), clerk.clone());
            tasks.push(tokio::spawn(async move {
                let doc = app.file_ok(&clerk, &r.metadata, r.body.as_bytes()).await;
                (doc["id"].as_str().unwrap().to_string(), r)
            }));
        }
        for t in tasks {
            docs.push(t.await.unwrap());
        }
    }
    let app = Arc::try_unwrap(app).unwrap_or_else(|_| panic!("app still shared"));
    app.client.get(app.url("/healthz")).send().await.unwrap();
    wait_for_index(&app, docs.len()).await;
    Corpus { app, docs }
}

async fn wait_for_index(app: &TestApp, n: usize) {
    let token = app.token("super_all").await;
    let started = Instant::now();
    loop {
        let r: Value = app
            .get(&token, "/api/v1/search?per_page=1")
            .await
            .json()
            .await
            .unwrap();
        if r["total"].as_u64() == Some(n as u64) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "index has {} of {n}",
            r["total"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every id a search finds, over all pages.
async fn all_ids(app: &TestApp, token: &str, query: &str) -> (BTreeSet<String>, Value) {
    let mut ids = BTreeSet::new();
    let mut first = Value::Null;
    for page in 1.. {
        let url = format!("/api/v1/search?{query}&per_page=100&page={page}");
        let r = app.get(token, &url).await;
        assert_eq!(r.status(), 200, "{url}");
        let body: Value = r.json().await.unwrap();
        let hits = body["hits"].as_array().unwrap().clone();
        ids.extend(hits.iter().map(|h| h["id"].as_str().unwrap().to_string()));
        if first.is_null() {
            first = body.clone();
        }
        if hits.len() < 100 {
            break;
        }
    }
    assert_eq!(
        ids.len() as u64,
        first["total"].as_u64().unwrap(),
        "{query}: total matches the hits"
    );
    (ids, first)
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The text a record contributes to the index, for brute-force comparison.
fn indexed_text(r: &Record) -> String {
    let m = &r.metadata;
    let tags: Vec<&str> = m["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let field = |v: &Value| v.as_str().unwrap_or_default().to_string();
    [
        r.body.clone(),
        field(&m["title"]),
        tags.join(" "),
        field(&m["vehicle"]["model"]),
        field(&m["customer"]["name"]),
        field(&m["service"]["technician"]),
        field(&m["service"]["order_no"]),
    ]
    .join("\n")
}

fn expected(docs: &[(String, Record)], keep: impl Fn(&Record) -> bool) -> BTreeSet<String> {
    docs.iter()
        .filter(|(_, r)| keep(r))
        .map(|(id, _)| id.clone())
        .collect()
}

#[tokio::test]
async fn search_finds_exactly_what_contains_the_words_and_never_leaks() {
    let Corpus { app, docs } = filed_corpus(300).await;
    let all = app.token("super_all").await;

    // Every Chinese fault term, system and repair item: recall and precision 1.0
    // against a brute-force scan.
    let mut terms: BTreeSet<&str> = BTreeSet::new();
    for (desc, system, items) in FAULTS {
        terms.insert(desc);
        terms.insert(system);
        terms.extend(items);
    }
    terms.extend(["更换", "刹车片", "三包", "竣工出厂合格证"]);
    let mut checked = 0;
    for term in terms {
        let want = expected(&docs, |r| indexed_text(r).contains(term));
        let (got, _) = all_ids(&app, &all, &format!("q={}", enc(term))).await;
        assert_eq!(got, want, "q={term}");
        checked += usize::from(!want.is_empty());
    }
    assert!(checked >= 20, "only {checked} terms occur in the corpus");

    // Two words must both match (AND); a quoted phrase must match as written.
    let want = expected(&docs, |r| {
        indexed_text(r).contains("发动机") && indexed_text(r).contains("更换")
    });
    assert_eq!(
        all_ids(&app, &all, &format!("q={}", enc("发动机 更换")))
            .await
            .0,
        want
    );
    let want = expected(&docs, |r| indexed_text(r).contains("竣工检验合格"));
    assert_eq!(
        all_ids(&app, &all, &format!("q={}", enc("\"竣工检验合格\"")))
            .await
            .0,
        want
    );

    // A single character and a surname.
    let (_, sample) = &docs[5];
    let name = sample.metadata["customer"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let surname: String = name.chars().take(1).collect();
    for q in [surname.as_str(), name.as_str(), "王"] {
        let want = expected(&docs, |r| indexed_text(r).contains(q));
        assert_eq!(
            all_ids(&app, &all, &format!("q={}", enc(q))).await.0,
            want,
            "q={q}"
        );
    }

    // VIN (full, last 8, last 6), plate with or without the dot, phone number.
    let vin = sample.metadata["vehicle"]["vin"]
        .as_str()
        .unwrap()
        .to_string();
    let by_vin = expected(&docs, |r| r.metadata["vehicle"]["vin"] == vin.as_str());
    for key in [vin.clone(), vin[9..].to_string(), vin[11..].to_lowercase()] {
        let (got, _) = all_ids(&app, &all, &format!("vin={key}")).await;
        assert!(got.is_superset(&by_vin) && !got.is_empty(), "vin={key}");
        if key.len() == 17 {
            assert_eq!(got, by_vin);
        }
    }
    let plate = sample.metadata["vehicle"]["plate"]
        .as_str()
        .unwrap()
        .to_string();
    let dotted: String = plate
        .chars()
        .take(2)
        .chain(['·'])
        .chain(plate.chars().skip(2))
        .collect();
    let by_plate = expected(&docs, |r| r.metadata["vehicle"]["plate"] == plate.as_str());
    assert_eq!(
        all_ids(&app, &all, &format!("plate={}", enc(&dotted)))
            .await
            .0,
        by_plate
    );
    let phone = sample.metadata["customer"]["phone"]
        .as_str()
        .unwrap()
        .to_string();
    let by_phone = expected(&docs, |r| {
        r.metadata["customer"]["phone"] == phone.as_str() || r.body.contains(&phone)
    });
    assert_eq!(all_ids(&app, &all, &format!("q={phone}")).await.0, by_phone);
    let order = sample.metadata["service"]["order_no"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        all_ids(&app, &all, &format!("order_no={order}")).await.0,
        expected(&docs, |r| r.metadata["service"]["order_no"]
            == order.as_str())
    );

    // Filters and facets: category + date range; facets add up to the total.
    let want = expected(&docs, |r| {
        let d = r.metadata["service"]["service_date"].as_str().unwrap();
        r.metadata["category"] == "WX" && ("2021-01-01"..="2022-12-31").contains(&d)
    });
    let (got, body) = all_ids(&app, &all, "category=WX&from=2021-01-01&to=2022-12-31").await;
    assert_eq!(got, want);
    let (_, body_all) = all_ids(&app, &all, &format!("q={}", enc("更换"))).await;
    for b in [&body, &body_all] {
        for facet in ["category", "branch", "year"] {
            let sum: u64 = b["facets"][facet]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_u64().unwrap())
                .sum();
            assert_eq!(sum, b["total"].as_u64().unwrap(), "facet {facet} adds up");
        }
    }

    // A BJ01 staff member with internal clearance: nothing from other branches or
    // higher levels in hits, totals, facets or snippets.
    let staff = app.token("staff_bj").await;
    let visible = |r: &Record| {
        r.metadata["branch"] == "BJ01"
            && matches!(
                r.metadata["confidentiality"].as_str(),
                Some("internal") | Some("public")
            )
    };
    let want = expected(&docs, |r| visible(r) && indexed_text(r).contains("更换"));
    let (got, body) = all_ids(&app, &staff, &format!("q={}", enc("更换"))).await;
    assert_eq!(got, want);
    let branches: BTreeMap<String, Value> =
        serde_json::from_value(body["facets"]["branch"].clone()).unwrap();
    assert!(branches.keys().all(|b| b == "BJ01"), "{branches:?}");
    let hidden = expected(&docs, |r| !visible(r));
    let (everything, _) = all_ids(&app, &staff, "category=WX").await;
    assert!(everything.is_disjoint(&hidden));
    for (id, r) in docs.iter().filter(|(_, r)| !visible(r)).take(20) {
        let phone = r.metadata["customer"]["phone"].as_str().unwrap();
        let (got, _) = all_ids(&app, &staff, &format!("q={phone}")).await;
        assert!(!got.contains(id), "a hidden document found by phone");
        assert!(
            got.is_disjoint(&hidden),
            "only visible documents of the same customer"
        );
    }
}

#[tokio::test]
async fn snippets_highlight_the_words_with_personal_data_masked_and_auditors_get_none() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let body = "维修委托书:客户反映刹车片磨损,联系电话13812341234,身份证号11010519491231002X。更换前刹车片。";
    app.file_ok(&clerk, &repair_order(), body.as_bytes()).await;
    let staff = app.token("staff_bj").await;
    let started = Instant::now();
    let hit = loop {
        let r: Value = app
            .get(&staff, &format!("/api/v1/search?q={}", enc("刹车片")))
            .await
            .json()
            .await
            .unwrap();
        if r["total"] == 1 {
            break r["hits"][0].clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "searchable within a second of the 201"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let snippet = hit["snippet"].as_str().unwrap();
    assert!(
        snippet.contains("<b>刹</b>") || snippet.contains("<b>刹车片</b>"),
        "{snippet}"
    );
    assert!(
        !snippet.contains("13812341234") && !snippet.contains("11010519491231002X"),
        "{snippet}"
    );
    assert_eq!(hit["archive_no"], "BJ01-WX-2026-000001");
    let auditor = app.token("auditor").await;
    let r: Value = app
        .get(&auditor, "/api/v1/search?q=13812341234")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["total"], 1, "auditors find documents by metadata");
    assert_eq!(r["hits"][0]["snippet"], "", "but see no content");
    let r: Value = app
        .get(&auditor, &format!("/api/v1/search?q={}", enc("身份证号")))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["total"], 0, "auditors cannot probe content text");
    let records = app.audit_records();
    let search = records
        .iter()
        .find(|r| r["action"] == "search" && r["user"] == "auditor")
        .unwrap();
    assert_eq!(
        search["detail"]["q"], "138****1234",
        "the log keeps the query masked"
    );
    assert_eq!(search["detail"]["hits"], 1);
}

#[tokio::test]
async fn bad_search_parameters_are_400() {
    let app = spawn_app().await;
    let staff = app.token("staff_bj").await;
    let long = "长".repeat(201);
    for (query, code) in [
        ("per_page=0", "invalid_page"),
        ("per_page=101", "invalid_page"),
        ("page=0", "invalid_page"),
        ("page=200&per_page=100", "invalid_page"),
        ("vin=123", "invalid_vin"),
        ("plate=XYZ", "invalid_plate"),
        ("category=QQ", "invalid_category"),
        ("sort=random", "invalid_sort"),
        ("from=2026-02-30", "invalid_query"),
        ("from=2026-03-01&to=2026-01-01", "invalid_dates"),
        ("colour=red", "invalid_query"),
        (&format!("q={}", enc(&long)) as &str, "query_too_long"),
    ] {
        let r = app.get(&staff, &format!("/api/v1/search?{query}")).await;
        assert_eq!(error_code(r).await, (400, code.to_string()), "{query}");
    }
    let admin = app.token("admin").await;
    assert_eq!(
        error_code(app.get(&admin, "/api/v1/search?q=x").await)
            .await
            .0,
        403
    );
}

#[tokio::test]
async fn corrections_and_new_versions_update_the_index() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let doc = app
        .file_ok(&clerk, &repair_order(), "初次扫描 空调不制冷".as_bytes())
        .await;
    let id = doc["id"].as_str().unwrap();
    let fix =
        serde_json::json!({"changes": {"title": "更正后的标题 轮胎鼓包"}, "reason": "录入错误"});
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/documents/{id}")))
        .bearer_auth(&clerk)
        .json(&fix)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let form = reqwest::multipart::Form::new()
        .text("reason", "重新扫描")
        .part(
            "file",
            reqwest::multipart::Part::bytes("第二版 变速箱顿挫".as_bytes().to_vec())
                .file_name("v2.txt")
                .mime_str("text/plain")
                .unwrap(),
        );
    let r = app
        .client
        .post(app.url(&format!("/api/v1/documents/{id}/versions")))
        .bearer_auth(&clerk)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let count = |q: &'static str| {
        let app = &app;
        let clerk = clerk.clone();
        async move {
            let r: Value = app
                .get(&clerk, &format!("/api/v1/search?q={}", enc(q)))
                .await
                .json()
                .await
                .unwrap();
            r["total"].as_u64().unwrap()
        }
    };
    assert_eq!(
        count("轮胎鼓包").await,
        1,
        "the corrected title is searchable"
    );
    assert_eq!(
        count("变速箱顿挫").await,
        1,
        "the new version's text is searchable"
    );
    assert_eq!(
        count("空调不制冷").await,
        0,
        "the old version's text is gone"
    );
    assert_eq!(count("刹车片更换").await, 0, "the old title is gone");
}

#[tokio::test]
async fn files_without_an_extractor_are_filed_and_say_they_are_not_text_indexed() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let mut meta = repair_order();
    meta["transcript"] = serde_json::json!("扫描件转写:更换空调压缩机");
    let form = reqwest::multipart::Form::new()
        .text("metadata", meta.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"\xff\xd8\xff\xe0 JFIF".to_vec())
                .file_name("scan.jpg")
                .mime_str("image/jpeg")
                .unwrap(),
        );
    let r = app
        .client
        .post(app.url("/api/v1/documents"))
        .bearer_auth(&clerk)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let doc: Value = r.json().await.unwrap();
    assert_eq!(doc["text"]["indexed"], false);
    // A scan on a server without OCR: the reason says how to make it searchable.
    let reason = doc["text"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("OCR") && reason.contains("transcript"),
        "{doc}"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let r: Value = app
        .get(&clerk, &format!("/api/v1/search?q={}", enc("空调压缩机")))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["total"], 1, "the transcript is searchable");
}
