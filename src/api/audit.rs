//! `/audit`: the auditors' view of the retrieval log.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::archive::auditing::Auditing;
use crate::audit::Outcome;
use crate::audit::query::{EventFilter, MAX_PAGE, day_bound, to_csv};
use crate::auth::extractor::{Authorized, perm};
use crate::error::{Code, Error, Result};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventParams {
    user: Option<String>,
    document: Option<String>,
    vin: Option<String>,
    action: Option<String>,
    outcome: Option<Outcome>,
    /// RFC 3339 time or a date (from its start / to its end, UTC).
    from: Option<String>,
    to: Option<String>,
    cursor: Option<u64>,
    limit: Option<usize>,
    format: Option<String>,
}

pub async fn events(
    caller: Authorized<perm::AuditRead>,
    auditing: web::Data<Auditing>,
    params: web::Query<EventParams>,
) -> Result<HttpResponse> {
    let p = params.into_inner();
    let csv = match p.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(Error::new(Code::InvalidFormat, "format: json or csv")),
    };
    let limit = p.limit.unwrap_or(if csv { MAX_PAGE } else { 100 });
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Error::new(
            Code::InvalidPage,
            format!("limit: 1 to {MAX_PAGE}"),
        ));
    }
    let filter = EventFilter {
        from: day_bound(&p.from, false, "from", auditing.calendar())?,
        to: day_bound(&p.to, true, "to", auditing.calendar())?,
        user: p.user,
        document: p.document,
        vin: p.vin.map(|v| v.trim().to_ascii_uppercase()),
        action: p.action,
        outcome: p.outcome,
        cursor: p.cursor,
        limit,
    };
    let page = auditing.events(&caller, filter).await?;
    if csv {
        let mut response = HttpResponse::Ok();
        if let Some(next) = page.next_cursor {
            response.insert_header(("x-next-cursor", next.to_string()));
        }
        return Ok(response
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                "content-disposition",
                "attachment; filename=\"retrieval-log.csv\"",
            ))
            .body(to_csv(&page)));
    }
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyParams {
    /// A checkpoint the auditor kept: `SEQ:HASH` (the record's hash, hex).
    checkpoint: Option<String>,
}

pub async fn verify(
    caller: Authorized<perm::AuditRead>,
    auditing: web::Data<Auditing>,
    params: web::Query<VerifyParams>,
) -> Result<HttpResponse> {
    let held = params
        .checkpoint
        .as_deref()
        .map(crate::audit::offline::parse_held_checkpoint)
        .transpose()
        .map_err(|e| Error::new(Code::InvalidCheckpoint, format!("checkpoint: {e}")))?;
    Ok(HttpResponse::Ok().json(auditing.verify(&caller, held).await?))
}

pub async fn checkpoints(
    caller: Authorized<perm::AuditRead>,
    auditing: web::Data<Auditing>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(auditing.checkpoints(&caller).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsParams {
    format: Option<String>,
}

/// `GET /stats[?format=csv]`: filings, reads, downloads, denials and grants per
/// branch, category and month.
pub async fn stats(
    caller: Authorized<perm::StatsRead>,
    auditing: web::Data<Auditing>,
    params: web::Query<StatsParams>,
) -> Result<HttpResponse> {
    let csv = match params.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(Error::new(Code::InvalidFormat, "format: json or csv")),
    };
    let stats = auditing.stats(&caller).await?;
    if !csv {
        return Ok(HttpResponse::Ok().json(stats));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "content-disposition",
            "attachment; filename=\"statistics.csv\"",
        ))
        .body(crate::audit::stats::to_csv(&stats)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::Calendar;
    use chrono::{DateTime, Utc};

    #[test]
    fn a_to_date_includes_its_whole_local_day_to_the_last_nanosecond() {
        let utc = Calendar::parse("UTC").unwrap();
        let to = day_bound(&Some("2026-03-01".into()), true, "to", utc)
            .unwrap()
            .unwrap();
        assert_eq!(to.to_rfc3339(), "2026-03-01T23:59:59.999999999+00:00");
        let record: DateTime<Utc> = "2026-03-01T23:59:59.5Z".parse().unwrap();
        assert!(record <= to);
        let from = day_bound(
            &Some("2026-03-01".into()),
            false,
            "from",
            Calendar::default(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(from.to_rfc3339(), "2026-02-28T16:00:00+00:00");
    }
}
