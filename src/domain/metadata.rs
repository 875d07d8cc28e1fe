//! Document metadata (spec §2): what a clerk supplies when filing, parsed and
//! checked against the classification scheme, and corrected by JSON merge patch.
//!
//! Parsing names the offending field (`vehicle.vin: invalid VIN …`) so that a
//! clerk can fix the form. Server-set fields (archive number, filing time,
//! retention) are not part of this type, so a client can never supply them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::classification::Classification;
use super::people::{Branch, Level};
use super::pii::{IdNumber, Phone};
use super::vehicle::{Plate, Vin};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    pub category: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vehicle: Option<Vehicle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Customer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Service>,
    /// The store the record belongs to; defaults to the filing clerk's branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<Branch>,
    /// Defaults to the category's level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidentiality: Option<Level>,
    /// Text transcript of a scan or image, for search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vehicle {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vin: Option<Vin>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plate: Option<Plate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mileage_km: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Phone>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_number: Option<IdNumber>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub technician: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
}

/// Why metadata was refused: bad JSON syntax (400) or invalid content (422).
#[derive(Debug, Clone, PartialEq)]
pub enum MetadataError {
    Syntax(String),
    Invalid { field: String, message: String },
}

impl std::fmt::Display for MetadataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetadataError::Syntax(m) => write!(f, "metadata is not valid JSON: {m}"),
            MetadataError::Invalid { field, message } if field.is_empty() => f.write_str(message),
            MetadataError::Invalid { field, message } => write!(f, "{field}: {message}"),
        }
    }
}

fn invalid(field: &str, message: impl Into<String>) -> MetadataError {
    MetadataError::Invalid {
        field: field.to_string(),
        message: message.into(),
    }
}

const MAX_TITLE: usize = 200;
const MAX_TEXT: usize = 2_000;
const MAX_TRANSCRIPT: usize = 200_000;
const MAX_SHORT: usize = 100;
const MAX_LIST: usize = 50;

impl Metadata {
    /// Parses metadata JSON, naming the field at fault.
    pub fn from_json(bytes: &[u8], scheme: &Classification) -> Result<Self, MetadataError> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| MetadataError::Syntax(e.to_string()))?;
        Self::from_value(value, scheme)
    }

    pub fn from_value(value: Value, scheme: &Classification) -> Result<Self, MetadataError> {
        if !value.is_object() {
            return Err(invalid("", "metadata must be a JSON object"));
        }
        let meta: Metadata = serde_path_to_error::deserialize(value).map_err(|e| {
            let field = e.path().to_string();
            let field = if field == "." { String::new() } else { field };
            invalid(&field, strip_position(&e.into_inner().to_string()))
        })?;
        meta.check(scheme)?;
        Ok(meta)
    }

    fn check(&self, scheme: &Classification) -> Result<(), MetadataError> {
        let Some(cat) = scheme.get(&self.category) else {
            let known: Vec<&str> = scheme.codes().collect();
            return Err(invalid(
                "category",
                format!(
                    "unknown category `{}`; known: {}",
                    super::people::truncate(&self.category, 10),
                    known.join(", ")
                ),
            ));
        };
        check_text("title", Some(&self.title), MAX_TITLE)?;
        if self.title.trim().is_empty() {
            return Err(invalid("title", "must not be empty"));
        }
        check_text("summary", self.summary.as_ref(), MAX_TEXT)?;
        check_text("transcript", self.transcript.as_ref(), MAX_TRANSCRIPT)?;
        check_list("tags", &self.tags)?;
        if self.branch.as_ref().is_some_and(Branch::is_all) {
            return Err(invalid(
                "branch",
                "a document belongs to one branch, not `*`",
            ));
        }
        if let Some(v) = &self.vehicle {
            check_text("vehicle.model", v.model.as_ref(), MAX_SHORT)?;
        }
        if let Some(c) = &self.customer {
            check_text("customer.name", c.name.as_ref(), MAX_SHORT)?;
        }
        if let Some(s) = &self.service {
            check_text("service.order_no", s.order_no.as_ref(), MAX_SHORT)?;
            check_text("service.technician", s.technician.as_ref(), MAX_SHORT)?;
            check_list("service.items", &s.items)?;
        }
        for field in &cat.required {
            if !self.has(field) {
                return Err(invalid(
                    field,
                    format!("required for category {}", cat.code),
                ));
            }
        }
        Ok(())
    }

    /// Whether a dotted field from [`super::classification::REQUIRABLE_FIELDS`] is set.
    fn has(&self, field: &str) -> bool {
        let v = self.vehicle.as_ref();
        let c = self.customer.as_ref();
        let s = self.service.as_ref();
        match field {
            "summary" => self.summary.is_some(),
            "vehicle.vin" => v.is_some_and(|v| v.vin.is_some()),
            "vehicle.plate" => v.is_some_and(|v| v.plate.is_some()),
            "customer.name" => c.is_some_and(|c| c.name.is_some()),
            "customer.phone" => c.is_some_and(|c| c.phone.is_some()),
            "customer.id_number" => c.is_some_and(|c| c.id_number.is_some()),
            "service.order_no" => s.is_some_and(|s| s.order_no.is_some()),
            "service.service_date" => s.is_some_and(|s| s.service_date.is_some()),
            "service.technician" => s.is_some_and(|s| s.technician.is_some()),
            _ => false,
        }
    }

    pub fn vin(&self) -> Option<&Vin> {
        self.vehicle.as_ref().and_then(|v| v.vin.as_ref())
    }

    pub fn service_date(&self) -> Option<NaiveDate> {
        self.service.as_ref().and_then(|s| s.service_date)
    }

    /// Applies a JSON merge patch (RFC 7386) and re-checks the result.
    pub fn patched(
        &self,
        changes: &Value,
        scheme: &Classification,
    ) -> Result<Metadata, MetadataError> {
        if !changes.is_object() {
            return Err(invalid("changes", "must be a JSON object"));
        }
        let mut value = serde_json::to_value(self).map_err(|e| invalid("", e.to_string()))?;
        merge_patch(&mut value, changes);
        Metadata::from_value(value, scheme).map_err(|e| match e {
            MetadataError::Invalid { field, message } => {
                invalid(&format!("changes.{field}"), message)
            }
            other => other,
        })
    }
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

fn check_text(field: &str, value: Option<&String>, max_chars: usize) -> Result<(), MetadataError> {
    match value {
        Some(v) if v.chars().count() > max_chars => Err(invalid(
            field,
            format!("longer than {max_chars} characters"),
        )),
        Some(v)
            if v.chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')) =>
        {
            Err(invalid(field, "contains control characters"))
        }
        _ => Ok(()),
    }
}

fn check_list(field: &str, items: &[String]) -> Result<(), MetadataError> {
    if items.len() > MAX_LIST {
        return Err(invalid(field, format!("more than {MAX_LIST} entries")));
    }
    for (i, item) in items.iter().enumerate() {
        check_text(&format!("{field}[{i}]"), Some(item), MAX_SHORT)?;
    }
    Ok(())
}

/// RFC 7386: `null` removes a member, objects merge recursively, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let Value::Object(target_map) = target else {
        return;
    };
    for (key, value) in patch_map {
        if value.is_null() {
            target_map.remove(key);
        } else {
            merge_patch(target_map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// The leaf fields that differ between two metadata values, as dotted paths.
pub fn changed_fields(old: &Value, new: &Value, prefix: &str, out: &mut Vec<String>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                changed_fields(
                    a.get(key).unwrap_or(&Value::Null),
                    b.get(key).unwrap_or(&Value::Null),
                    &path,
                    out,
                );
            }
        }
        (a, b) if a != b => out.push(prefix.to_string()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scheme() -> Classification {
        Classification::from_toml(include_str!("../../schema/classification.toml")).unwrap()
    }

    fn repair() -> Value {
        json!({
            "category": "WX",
            "title": "维修委托书 京A12345",
            "vehicle": {"vin": "1M8GDM9AXKP042788", "plate": "京A·12345"},
            "customer": {"name": "王伟", "phone": "13812341234", "id_number": "11010519491231002X"},
            "service": {"order_no": "BJ01-20260301-000001", "service_date": "2026-03-01"},
        })
    }

    fn err_of(v: Value) -> MetadataError {
        Metadata::from_value(v, &scheme()).unwrap_err()
    }

    #[test]
    fn parses_a_repair_order() {
        let m = Metadata::from_value(repair(), &scheme()).unwrap();
        assert_eq!(m.vin().unwrap().as_str(), "1M8GDM9AXKP042788");
        assert_eq!(m.vehicle.unwrap().plate.unwrap().as_str(), "京A12345");
    }

    #[test]
    fn names_the_field_at_fault() {
        let mut v = repair();
        v["vehicle"]["vin"] = json!("1M8GDM9A1KP042788");
        let MetadataError::Invalid { field, message } = err_of(v) else {
            panic!()
        };
        assert_eq!(field, "vehicle.vin");
        assert!(message.contains("check digit"), "{message}");

        let mut v = repair();
        v["colour"] = json!("red");
        let MetadataError::Invalid { message, .. } = err_of(v) else {
            panic!()
        };
        assert!(message.contains("unknown field `colour`"), "{message}");

        let mut v = repair();
        v["vehicle"]["mileage_km"] = json!("lots");
        let MetadataError::Invalid { field, .. } = err_of(v) else {
            panic!()
        };
        assert_eq!(field, "vehicle.mileage_km");
    }

    #[test]
    fn unknown_category_and_missing_required_fields() {
        let mut v = repair();
        v["category"] = json!("ZZ");
        assert!(matches!(err_of(v), MetadataError::Invalid { field, .. } if field == "category"));
        let mut v = repair();
        v["service"] = json!({"order_no": "x"});
        assert!(
            matches!(err_of(v), MetadataError::Invalid { field, .. } if field == "service.service_date")
        );
    }

    #[test]
    fn syntax_errors_are_distinguished() {
        assert!(matches!(
            Metadata::from_json(b"{\"category\":", &scheme()),
            Err(MetadataError::Syntax(_))
        ));
        assert!(matches!(
            Metadata::from_json(b"[1]", &scheme()),
            Err(MetadataError::Invalid { .. })
        ));
    }

    #[test]
    fn merge_patch_corrects_and_removes() {
        let m = Metadata::from_value(repair(), &scheme()).unwrap();
        let patched = m
            .patched(
                &json!({"title": "更正", "customer": {"phone": null}}),
                &scheme(),
            )
            .unwrap();
        assert_eq!(patched.title, "更正");
        assert!(patched.customer.as_ref().unwrap().phone.is_none());
        let mut changed = vec![];
        changed_fields(
            &serde_json::to_value(&m).unwrap(),
            &serde_json::to_value(&patched).unwrap(),
            "",
            &mut changed,
        );
        assert_eq!(changed, ["customer.phone", "title"]);
        let err = m
            .patched(&json!({"vehicle": {"vin": "bad"}}), &scheme())
            .unwrap_err();
        assert!(
            matches!(err, MetadataError::Invalid { field, .. } if field == "changes.vehicle.vin")
        );
    }
}
