//! Text extraction from the files dealerships file: a PDF printed by the DMS and
//! a DOCX are searchable by their Chinese text; a damaged PDF or a scan is still
//! filed, marked "not text-indexed" with the reason, and found by its metadata.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use dangan::corpus::files::{docx_with_text, pdf_with_text};

use crate::helpers::{TestApp, repair_order, spawn_app};

const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

async fn file_as(app: &TestApp, token: &str, meta: &Value, mime: &str, bytes: Vec<u8>) -> Value {
    let form = Form::new()
        .part(
            "metadata",
            Part::text(meta.to_string())
                .mime_str("application/json")
                .unwrap(),
        )
        .part(
            "file",
            Part::bytes(bytes).file_name("scan").mime_str(mime).unwrap(),
        );
    let r = app
        .client
        .post(app.url("/api/v1/documents"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "filing a {mime}");
    r.json().await.unwrap()
}

async fn hits(app: &TestApp, token: &str, q: &str) -> Vec<String> {
    let found: Value = app
        .get(
            token,
            &format!(
                "/api/v1/search?q={}",
                url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
            ),
        )
        .await
        .json()
        .await
        .unwrap();
    found["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn pdf_and_docx_text_is_searchable_and_failures_are_explained() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let mut meta = repair_order();
    meta["title"] = json!("维修委托书");
    let pdf = file_as(
        &app,
        &clerk,
        &meta,
        "application/pdf",
        pdf_with_text(&["故障描述:变速箱顿挫", "处理:更换离合器总成"]),
    )
    .await;
    let docx = file_as(
        &app,
        &clerk,
        &meta,
        DOCX,
        docx_with_text(&["保险理赔单", "定损项目:左前翼子板钣金喷漆"]),
    )
    .await;
    let mut broken = pdf_with_text(&["安全气囊故障灯常亮"]);
    broken.truncate(broken.len() / 3);
    let damaged = file_as(&app, &clerk, &meta, "application/pdf", broken).await;
    let mut scan_meta = meta.clone();
    scan_meta["transcript"] = json!("手写:冷却液渗漏");
    let scan = file_as(
        &app,
        &clerk,
        &scan_meta,
        "image/jpeg",
        vec![0xff, 0xd8, 0xff, 0xe0],
    )
    .await;

    assert_eq!(pdf["text"]["indexed"], true, "{pdf}");
    assert_eq!(docx["text"]["indexed"], true, "{docx}");
    assert_eq!(damaged["text"]["indexed"], false);
    assert!(
        damaged["text"]["reason"].as_str().unwrap().contains("PDF"),
        "the clerk sees why: {damaged}"
    );
    assert_eq!(scan["text"]["indexed"], false);

    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let id = |d: &Value| d["id"].as_str().unwrap().to_string();
    assert_eq!(hits(&app, &clerk, "变速箱顿挫").await, vec![id(&pdf)]);
    assert_eq!(hits(&app, &clerk, "离合器").await, vec![id(&pdf)]);
    assert_eq!(hits(&app, &clerk, "翼子板 钣金").await, vec![id(&docx)]);
    assert_eq!(
        hits(&app, &clerk, "冷却液").await,
        vec![id(&scan)],
        "the transcript"
    );
    assert!(hits(&app, &clerk, "安全气囊").await.is_empty());
    let mut all = hits(&app, &clerk, "维修委托书").await;
    all.sort();
    let mut want = vec![id(&pdf), id(&docx), id(&damaged), id(&scan)];
    want.sort();
    assert_eq!(all, want, "every file is found by its metadata");

    // The text survives a rebuild of the index from the store alone.
    let admin = app.token("admin").await;
    let r = app
        .client
        .post(app.url("/api/v1/admin/reindex"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(hits(&app, &clerk, "离合器").await, vec![id(&pdf)]);
    assert_eq!(hits(&app, &clerk, "翼子板").await, vec![id(&docx)]);
}

#[tokio::test]
async fn pdfs_in_predefined_chinese_cmaps_are_found_by_a_word_of_their_body() {
    use dangan::corpus::pdf::{Variant, pdf_variant};
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let mut filed = vec![];
    for (variant, word) in [
        (Variant::UniGbUcs2, "正时皮带"),
        (Variant::GbkEuc, "三元催化"),
        (Variant::UniGbUtf16, "雨刮电机"),
    ] {
        let line = format!("结算单 更换{word}");
        let doc = file_as(
            &app,
            &clerk,
            &repair_order(),
            "application/pdf",
            pdf_variant(variant, &[&line]),
        )
        .await;
        assert_eq!(doc["text"]["indexed"], true, "{variant:?}: {doc}");
        filed.push((word, doc["id"].as_str().unwrap().to_string()));
    }
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    for (word, id) in filed {
        assert_eq!(hits(&app, &clerk, word).await, vec![id], "{word}");
    }
}
