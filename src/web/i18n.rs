//! The front desk's words, in one place per language (spec §9: Chinese first,
//! with an English switch). Templates and page handlers ask for a text by key;
//! a key missing from [`TEXTS`] shows as the key itself, and the unit test
//! below fails for any key the templates use that is not listed.

use std::sync::LazyLock;

/// The language of a page: Chinese unless the visitor chose English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

/// The cookie that remembers the visitor's choice (a year).
pub const LANG_COOKIE: &str = "dangan_lang";

impl Lang {
    /// `zh` or `en` (a cookie value); anything else is Chinese.
    pub fn parse(raw: Option<&str>) -> Lang {
        match raw {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The `lang` attribute of the page.
    pub fn html(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The other language, offered by the switch.
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// The text of `key`, if it is listed.
    pub fn t_opt(self, key: &str) -> Option<&'static str> {
        let i = TEXTS.binary_search_by(|(k, _, _)| (*k).cmp(key)).ok()?;
        Some(match self {
            Lang::Zh => TEXTS[i].1,
            Lang::En => TEXTS[i].2,
        })
    }

    /// The text of `key` in this language.
    pub fn t(self, key: &str) -> &'static str {
        match TEXTS.binary_search_by(|(k, _, _)| (*k).cmp(key)) {
            Ok(i) => match self {
                Lang::Zh => TEXTS[i].1,
                Lang::En => TEXTS[i].2,
            },
            Err(_) => {
                tracing::warn!(key, "front-desk text missing");
                "?"
            }
        }
    }
}

/// `(key, Chinese, English)` from `web/texts.tsv` (data, not code), sorted
/// by key (the unit test checks): read into the binary at build time, parsed
/// once.
pub static TEXTS: LazyLock<Vec<(&'static str, &'static str, &'static str)>> =
    LazyLock::new(|| parse(include_str!("../../web/texts.tsv")));

/// The lines of a texts file that are not blank or `#` comments, split at
/// their two tabs (a line with fewer is skipped; the unit test counts them).
fn parse(file: &'static str) -> Vec<(&'static str, &'static str, &'static str)> {
    file.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut parts = l.splitn(3, '\t');
            Some((parts.next()?, parts.next()?, parts.next()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_sorted_unique_and_complete_in_both_languages() {
        for pair in TEXTS.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} before {}", pair[0].0, pair[1].0);
        }
        for (key, zh, en) in TEXTS.iter() {
            assert!(!zh.is_empty() && !en.is_empty(), "{key}");
        }
        let lines = include_str!("../../web/texts.tsv")
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .count();
        assert_eq!(TEXTS.len(), lines, "every line has a key and two texts");
        assert_eq!(Lang::Zh.t("nav.search"), "检索");
        assert_eq!(Lang::En.t("nav.search"), "Search");
    }

    /// Every metadata field a page shows or corrects has a label.
    #[test]
    fn every_metadata_field_has_a_label() {
        for key in crate::web::pages::FIELDS {
            assert!(Lang::En.t_opt(key).is_some(), "{key}");
        }
    }

    /// Every `c.t("…")` in a template names a listed key.
    #[test]
    fn every_key_the_templates_use_is_listed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web/templates");
        let mut used = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for part in text.split("c.t(\"").skip(1) {
                let key = part.split('"').next().unwrap();
                used += 1;
                assert!(
                    TEXTS.binary_search_by(|(k, _, _)| (*k).cmp(key)).is_ok(),
                    "{}: key `{key}` is not in TEXTS",
                    path.display()
                );
            }
        }
        assert!(used > 50, "the scan found the templates' keys ({used})");
    }
}
