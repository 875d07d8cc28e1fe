//! The classification scheme (分类): categories, retention and default levels.
//!
//! The scheme is data (`schema/classification.toml`), read at start; a deployment
//! edits it without touching code. This module only parses and checks it.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::people::Level;

/// A category code such as `WX`, known to the scheme in force.
pub type Category = String;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryDef {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    #[serde(default)]
    pub examples: Vec<String>,
    /// Retention in years, counted from the service date (or the filing date).
    pub retention_years: u32,
    pub default_level: Level,
    /// Metadata fields that must be present, as dotted paths (`vehicle.vin`).
    #[serde(default)]
    pub required: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SchemeFile {
    category: Vec<CategoryDef>,
}

/// The scheme in force.
#[derive(Debug, Clone, Serialize)]
pub struct Classification {
    pub categories: Vec<CategoryDef>,
    #[serde(skip)]
    by_code: BTreeMap<String, usize>,
}

/// Fields a category may list as required.
pub const REQUIRABLE_FIELDS: &[&str] = &[
    "summary",
    "vehicle.vin",
    "vehicle.plate",
    "customer.name",
    "customer.phone",
    "customer.id_number",
    "service.order_no",
    "service.service_date",
    "service.technician",
];

impl Classification {
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let file: SchemeFile =
            toml::from_str(text).map_err(|e| format!("classification scheme: {e}"))?;
        let mut by_code = BTreeMap::new();
        for (i, cat) in file.category.iter().enumerate() {
            let code_ok = (2..=4).contains(&cat.code.len())
                && cat.code.bytes().all(|b| b.is_ascii_uppercase());
            if !code_ok {
                return Err(format!(
                    "classification scheme: category code `{}` must be 2-4 upper-case letters",
                    cat.code
                ));
            }
            if cat.retention_years == 0 || cat.retention_years > 1000 {
                return Err(format!(
                    "classification scheme: category {} has retention_years {}",
                    cat.code, cat.retention_years
                ));
            }
            if let Some(field) = cat
                .required
                .iter()
                .find(|f| !REQUIRABLE_FIELDS.contains(&f.as_str()))
            {
                return Err(format!(
                    "classification scheme: category {} requires unknown field `{field}`",
                    cat.code
                ));
            }
            if by_code.insert(cat.code.clone(), i).is_some() {
                return Err(format!(
                    "classification scheme: category code {} appears twice",
                    cat.code
                ));
            }
        }
        if by_code.is_empty() {
            return Err("classification scheme: no categories".into());
        }
        Ok(Classification {
            categories: file.category,
            by_code,
        })
    }

    pub fn get(&self, code: &str) -> Option<&CategoryDef> {
        self.by_code.get(code).map(|&i| &self.categories[i])
    }

    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.categories.iter().map(|c| c.code.as_str())
    }
}

impl CategoryDef {
    /// The last day the record must be kept: `retention_years` after `from`.
    pub fn retention_until(&self, from: NaiveDate) -> NaiveDate {
        let years = self.retention_years as i32;
        from.with_year(from.year() + years)
            // 29 February in a year without one: keep until 28 February.
            .or_else(|| from.pred_opt().and_then(|d| d.with_year(d.year() + years)))
            .unwrap_or(NaiveDate::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEME: &str = include_str!("../../schema/classification.toml");

    #[test]
    fn shipped_scheme_parses_with_the_spec_categories() {
        let c = Classification::from_toml(SCHEME).unwrap();
        let codes: Vec<&str> = c.codes().collect();
        assert_eq!(codes, ["XS", "WX", "SB", "KH", "ZL", "KJ", "XZ"]);
        assert_eq!(c.get("WX").unwrap().retention_years, 3);
        assert_eq!(c.get("KJ").unwrap().retention_years, 30);
        assert_eq!(c.get("XS").unwrap().default_level, Level::Confidential);
    }

    #[test]
    fn retention_counts_whole_years_and_handles_leap_days() {
        let c = Classification::from_toml(SCHEME).unwrap();
        let wx = c.get("WX").unwrap();
        let d = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        assert_eq!(
            wx.retention_until(d),
            NaiveDate::from_ymd_opt(2027, 2, 28).unwrap()
        );
        let d = NaiveDate::from_ymd_opt(2025, 3, 1).unwrap();
        assert_eq!(
            wx.retention_until(d),
            NaiveDate::from_ymd_opt(2028, 3, 1).unwrap()
        );
    }

    #[test]
    fn bad_schemes_are_refused_with_a_reason() {
        assert!(
            Classification::from_toml("category = []")
                .unwrap_err()
                .contains("no categories")
        );
        let dup = r#"
[[category]]
code = "WX"
name_zh = "a"
name_en = "a"
retention_years = 3
default_level = "internal"
[[category]]
code = "WX"
name_zh = "b"
name_en = "b"
retention_years = 3
default_level = "internal"
"#;
        assert!(
            Classification::from_toml(dup)
                .unwrap_err()
                .contains("twice")
        );
        let unknown = SCHEME.replacen("retention_years = ", "retention_yrs = ", 1);
        assert!(Classification::from_toml(&unknown).is_err());
    }
}
