//! Personal data inside free text (spec §3): mobile numbers and resident ID
//! numbers in titles, summaries, transcripts, purposes, reasons, notes and
//! queries are masked like the structured fields, in every common writing:
//! `13812345678`, `138-1234-5678`, `138 1234 5678`, `+86 138…`, `+8613812345678`,
//! `(+86)138…`, full-width digits (`１３８…`), and ID numbers in 6-8-4 groups.
//!
//! A number is masked when it is a whole run of digit groups (or a run of
//! consecutive whole groups) that parses as a phone or an ID number; digits
//! inside a longer word (an order number, a VIN) are left alone. One pass,
//! linear in the text.

use super::pii::{IdNumber, Phone};

/// A digit (ASCII or full-width) as its ASCII form.
fn digit(c: char) -> Option<char> {
    match c {
        '0'..='9' => Some(c),
        '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32),
        _ => None,
    }
}

/// Separators allowed between the groups of one number.
fn separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '－' | '\u{3000}' | '\u{a0}')
}

/// One run of digit groups: each group's digits (ASCII) and its char span.
struct Group {
    digits: String,
    start: usize,
    end: usize,
}

/// The masked text, and the numbers found (in full, for keyed lookups).
pub fn mask_free_text(text: &str) -> (String, Vec<String>) {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut found = vec![];
    let mut i = 0;
    while i < chars.len() {
        // Digits glued to a word (an order number, a VIN) are not a number.
        let boundary =
            i == 0 || !(chars[i - 1].is_ascii_alphanumeric() || digit(chars[i - 1]).is_some());
        let starts = digit(chars[i]).is_some() || matches!(chars[i], '+' | '＋');
        if !(starts && boundary) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let (groups, end) = collect_groups(&chars, i);
        if groups.is_empty() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // The run must end at a word boundary to be a number of its own.
        let bounded = end == chars.len() || !chars[end].is_ascii_alphanumeric();
        let spans = if bounded { numbers_in(&groups) } else { vec![] };
        let mut at = i;
        for (from, to, value) in spans {
            out.extend(&chars[at..from]);
            out.push_str(&value.1);
            found.push(value.0);
            at = to;
        }
        out.extend(&chars[at..end]);
        i = end;
    }
    (out, found)
}

/// Reads digit groups from `start` (an optional `+`/`＋` first): groups of
/// digits joined by single separators, the last character of a group possibly
/// an ID number's `X`. Returns the groups and where the run ends.
fn collect_groups(chars: &[char], start: usize) -> (Vec<Group>, usize) {
    let mut groups: Vec<Group> = vec![];
    let mut i = start;
    if matches!(chars[i], '+' | '＋') {
        i += 1;
    }
    loop {
        let begin = i;
        let mut digits = String::new();
        while i < chars.len() {
            if let Some(d) = digit(chars[i]) {
                digits.push(d);
                i += 1;
            } else if matches!(chars[i], 'X' | 'x')
                && !digits.is_empty()
                && chars.get(i + 1).is_none_or(|c| !c.is_ascii_alphanumeric())
            {
                digits.push('X');
                i += 1;
                break;
            } else {
                break;
            }
        }
        if digits.is_empty() {
            let end = groups.last().map_or(start, |g| g.end);
            return (groups, end);
        }
        let group_start = if groups.is_empty() { start } else { begin };
        groups.push(Group {
            digits,
            start: group_start,
            end: i,
        });
        // One separator, then more digits, continues the run.
        if i + 1 < chars.len() && separator(chars[i]) && digit(chars[i + 1]).is_some() {
            i += 1;
            continue;
        }
        return (groups, i);
    }
}

/// Phones and ID numbers made of consecutive whole groups:
/// (start char, end char, (value, masked)).
fn numbers_in(groups: &[Group]) -> Vec<(usize, usize, (String, String))> {
    let mut out = vec![];
    let mut g = 0;
    while g < groups.len() {
        let mut joined = String::new();
        let mut hit = None;
        for (k, group) in groups.iter().enumerate().skip(g) {
            joined.push_str(&group.digits);
            // `+86` (or a leading 86) before the first group is the country code.
            let national = joined
                .strip_prefix("86")
                .filter(|_| g == 0 && joined.len() == 13);
            if let Some(p) = national
                .and_then(|c| Phone::parse(c).ok())
                .or_else(|| Phone::parse(&joined).ok())
            {
                hit = Some((k, p.as_str().to_string(), p.masked()));
                break;
            }
            if let Ok(id) = IdNumber::parse(&joined) {
                hit = Some((k, id.as_str().to_string(), id.masked()));
                break;
            }
            if joined.len() >= 18 {
                break;
            }
        }
        match hit {
            Some((k, value, masked)) => {
                out.push((groups[g].start, groups[k].end, (value, masked)));
                g = k + 1;
            }
            None => g += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_in_every_common_writing_are_masked() {
        for (text, want) in [
            ("电话13812345678", "电话138****5678"),
            ("call 138-1234-5678 now", "call 138****5678 now"),
            ("tel 138 1234 5678", "tel 138****5678"),
            ("+86 138 1234 5678", "138****5678"),
            ("+8613812345678。", "138****5678。"),
            ("客户手机：１３８１２３４５６７８", "客户手机：138****5678"),
            ("＋８６ １３８－１２３４－５６７８", "138****5678"),
            (
                "身份证 110105 19491231 002X 已核",
                "身份证 110***********002X 已核",
            ),
            ("11010519491231002x", "110***********002X"),
        ] {
            let (masked, found) = mask_free_text(text);
            assert_eq!(masked, want, "{text}");
            assert_eq!(found.len(), 1, "{text}");
        }
    }

    #[test]
    fn other_numbers_are_left_alone() {
        for text in [
            "委托书号 RO20261130001",
            "VIN LFV2A21K2M3000001",
            "里程 42000 km, 2026-03-01",
            "BJ01-WX-2026-000123",
            "金额 13812345678901",
            "order13812345678",
        ] {
            assert_eq!(mask_free_text(text).0, text, "{text}");
        }
        // A year before a phone does not hide it.
        assert_eq!(mask_free_text("2026 13812345678").0, "2026 138****5678");
    }

    /// The ways people write a number: plain, grouped with dashes or spaces,
    /// with the country code, in full-width digits.
    fn writings(n: &str) -> Vec<String> {
        let full_width: String = n
            .chars()
            .map(|c| match c.to_digit(10) {
                Some(d) => char::from_u32('０' as u32 + d).expect("a full-width digit"),
                None => c,
            })
            .collect();
        let mut out = vec![n.to_string(), full_width];
        if n.len() == 11 {
            out.push(format!("{}-{}-{}", &n[..3], &n[3..7], &n[7..]));
            out.push(format!("{} {} {}", &n[..3], &n[3..7], &n[7..]));
            out.push(format!("+86 {n}"));
            out.push(format!("+86{n}"));
        } else {
            out.push(format!("{} {} {}", &n[..6], &n[6..14], &n[14..]));
        }
        out
    }

    /// Text around a number: CJK or ASCII words and punctuation, never a
    /// letter or digit touching it (a number glued to a word is a code).
    fn surrounding() -> impl proptest::strategy::Strategy<Value = String> {
        proptest::string::string_regex(
            "[\\u{4e00}-\\u{4fff}a-z ，。：]{0,12}[\\u{4e00}-\\u{4fff} ，。：]",
        )
        .expect("a valid pattern")
    }

    proptest::proptest! {
        /// Any generated mobile or ID number, in any writing, inside any text,
        /// is found and never left whole in the masked text.
        #[test]
        fn generated_numbers_in_any_writing_and_text_are_masked(
            seed: u64,
            id_card: bool,
            writing: usize,
            before in surrounding(),
            after in surrounding(),
        ) {
            use rand::SeedableRng;
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let number = if id_card {
                crate::corpus::id_number(&mut rng)
            } else {
                crate::corpus::phone(&mut rng)
            };
            let forms = writings(&number);
            let written = &forms[writing % forms.len()];
            let text = format!("{before}{written}{}", after.chars().rev().collect::<String>());
            let (masked, found) = mask_free_text(&text);
            proptest::prop_assert!(found.iter().any(|f| f.eq_ignore_ascii_case(&number)), "{text}: found {found:?}");
            let bare: String = masked
                .chars()
                .filter_map(|c| match c {
                    '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32),
                    ' ' | '-' => None,
                    c => Some(c),
                })
                .collect();
            proptest::prop_assert!(!bare.contains(&number[..number.len() - 1]), "{text} -> {masked}");
        }
    }
}
