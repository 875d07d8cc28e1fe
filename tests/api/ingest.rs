//! The ingest checks (四性检测, spec §10) every filing records, and the
//! source a filing may declare (an import's): active content flagged and
//! never shown inline, the format identified by content, a file that arrives
//! other than declared refused with nothing stored, a source filed once.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::desks::page;
use crate::helpers::{TestApp, error_code, repair_order, spawn_app};
use crate::pages::page_login;

async fn send(
    app: &TestApp,
    token: &str,
    source: Option<Value>,
    name: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let mut form = Form::new();
    if let Some(s) = source {
        form = form.text("source", s.to_string());
    }
    let form = form.text("metadata", repair_order().to_string()).part(
        "file",
        Part::bytes(bytes)
            .file_name(name.to_string())
            .mime_str(content_type)
            .unwrap(),
    );
    app.client
        .post(app.url("/api/v1/documents"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

fn status<'a>(d: &'a Value, check: &str) -> &'a str {
    d["versions"][0]["checks"][check]["status"]
        .as_str()
        .unwrap()
}

const JS_PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R /OpenAction << /S /J#61vaScript /JS (app.alert(1)) >> >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

fn macro_docx() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for (name, body) in [
        ("[Content_Types].xml", "<Types/>"),
        (
            "word/document.xml",
            "<w:document><w:body><w:p><w:r><w:t>维修</w:t></w:r></w:p></w:body></w:document>",
        ),
        ("word/vbaProject.bin", "VBA"),
    ] {
        zip.start_file(name, opts).unwrap();
        std::io::Write::write_all(&mut zip, body.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[tokio::test]
async fn every_filing_records_its_four_checks_and_active_content_is_never_shown_inline() {
    let app = spawn_app().await;
    let token = app.token("clerk_bj").await;

    let clean: Value = send(
        &app,
        &token,
        None,
        "a.txt",
        "text/plain",
        "维修委托书".as_bytes().to_vec(),
    )
    .await
    .json()
    .await
    .unwrap();
    for check in ["authenticity", "integrity", "usability", "security"] {
        assert_eq!(
            status(&clean, check),
            "pass",
            "{check}: {}",
            clean["versions"][0]["checks"]
        );
    }
    let integrity = clean["versions"][0]["checks"]["integrity"].to_string();
    assert!(
        integrity.contains("vehicle.vin"),
        "required fields named: {integrity}"
    );
    let authenticity = clean["versions"][0]["checks"]["authenticity"].to_string();
    let sha = clean["versions"][0]["sha256"].as_str().unwrap();
    assert!(
        authenticity.contains(sha) && authenticity.contains("clerk_bj"),
        "{authenticity}"
    );

    let pdf: Value = send(
        &app,
        &token,
        None,
        "invoice.pdf",
        "application/pdf",
        JS_PDF.to_vec(),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(status(&pdf, "security"), "fail");
    assert!(
        pdf["versions"][0]["checks"]["security"]
            .to_string()
            .contains("JavaScript")
    );

    let docm: Value = send(
        &app,
        &token,
        None,
        "report.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        macro_docx(),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(status(&docm, "security"), "fail");
    assert!(
        docm["versions"][0]["checks"]["security"]
            .to_string()
            .contains("macros")
    );

    // A JPEG sent as a PDF: the format is the content's, not the name's.
    let jpeg = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1,
    ];
    let liar: Value = send(&app, &token, None, "scan.pdf", "application/pdf", jpeg)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status(&liar, "usability"), "warn");
    assert!(
        liar["versions"][0]["checks"]["usability"]
            .to_string()
            .contains("image/jpeg")
    );

    // The document page: the checks listed, no inline preview of the PDF
    // with a script, and its bytes only as a download.
    let cookie = page_login(&app.address, "clerk_bj", crate::helpers::PASSWORD).await;
    let id = pdf["id"].as_str().unwrap();
    let (code, body) = page(&app, &cookie, &format!("/documents/{id}")).await;
    assert_eq!(code, 200);
    assert!(body.contains("data-active-content"), "warned");
    assert!(!body.contains("pdf-preview"), "not previewed");
    assert!(body.contains(r#"data-check="security" data-status="fail""#));
    let r = crate::pages::client()
        .get(format!(
            "{}/documents/{id}/file?version=1&inline=1",
            app.address
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    let (_, clean_page) = page(
        &app,
        &cookie,
        &format!("/documents/{}", clean["id"].as_str().unwrap()),
    )
    .await;
    assert!(clean_page.contains(r#"data-check="usability" data-status="pass""#));
    assert!(!clean_page.contains("data-active-content"));
}

#[tokio::test]
async fn a_declared_source_is_filed_once_and_must_arrive_as_declared() {
    let app = spawn_app().await;
    let token = app.token("clerk_bj").await;
    let bytes = "委托书 第1号".as_bytes().to_vec();
    let sha = hex::encode(Sha256::digest(&bytes));
    let source = json!({"path": "2024/委托书-1.txt", "sha256": sha, "size": bytes.len()});

    let r = send(
        &app,
        &token,
        Some(source.clone()),
        "委托书-1.txt",
        "text/plain",
        bytes.clone(),
    )
    .await;
    assert_eq!(r.status(), 201);
    let first: Value = r.json().await.unwrap();
    assert!(
        first["versions"][0]["checks"]["authenticity"]
            .to_string()
            .contains("2024/委托书-1.txt")
    );
    let r = send(
        &app,
        &token,
        Some(source.clone()),
        "委托书-1.txt",
        "text/plain",
        bytes.clone(),
    )
    .await;
    assert_eq!(r.status(), 200, "already filed");
    let again: Value = r.json().await.unwrap();
    assert_eq!(again["archive_no"], first["archive_no"]);
    // Another branch's clerk does not learn of it: they file their own.
    let other = app.token("clerk_sh").await;
    let mut meta_sh = repair_order();
    meta_sh["branch"] = "SH01".into();
    let form = Form::new()
        .text("source", source.to_string())
        .text("metadata", meta_sh.to_string())
        .part("file", Part::bytes(bytes.clone()).file_name("a.txt"));
    let r = app
        .client
        .post(app.url("/api/v1/documents"))
        .bearer_auth(&other)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // Other bytes than declared: refused, nothing stored, the refusal logged.
    let objects = app.object_files().len();
    let wrong = json!({"path": "2024/委托书-2.txt", "sha256": sha, "size": bytes.len()});
    let r = send(
        &app,
        &token,
        Some(wrong),
        "委托书-2.txt",
        "text/plain",
        b"something else".to_vec(),
    )
    .await;
    assert_eq!(error_code(r).await, (422, "content_mismatch".into()));
    assert_eq!(app.object_files().len(), objects, "nothing stored");
    let refused = app
        .audit_records()
        .into_iter()
        .filter(|r| r["action"] == "document.file" && r["outcome"] == "error")
        .count();
    assert_eq!(refused, 1);
    for bad in [
        json!({"path": "", "sha256": sha, "size": 1}),
        json!({"path": "a", "sha256": "xyz", "size": 1}),
        json!({"path": "a"}),
    ] {
        let r = send(
            &app,
            &token,
            Some(bad),
            "a.txt",
            "text/plain",
            bytes.clone(),
        )
        .await;
        assert_eq!(error_code(r).await, (422, "invalid_source".into()));
    }
    let found = app
        .audit_records()
        .into_iter()
        .filter(|r| r["action"] == "document.already_filed")
        .count();
    assert_eq!(found, 1, "the finding is recorded");
}
