//! Personal information (PIPL): mainland mobile numbers and resident ID numbers,
//! their validation and their masked forms (`138****1234`, `110***********1234`).

use serde::{Deserialize, Serialize};

use super::people::truncate;

/// Who sees personal information unmasked (`schema/masking.toml`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Masking {
    pub roles: Vec<super::Role>,
    pub grants_with_contact_purpose: bool,
}

impl Masking {
    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| format!("masking rules: {e}"))
    }
}

/// A mainland mobile number: 11 digits starting with 1[3-9].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let digits = digits.strip_prefix("+86").unwrap_or(&digits).to_string();
        let b = digits.as_bytes();
        if b.len() == 11
            && b[0] == b'1'
            && (b'3'..=b'9').contains(&b[1])
            && digits.bytes().all(|c| c.is_ascii_digit())
        {
            Ok(Phone(digits))
        } else {
            Err(format!(
                "invalid phone number `{}`: expected an 11-digit mainland mobile number",
                mask_any(&truncate(raw, 24))
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

impl std::fmt::Debug for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

impl TryFrom<String> for Phone {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Phone::parse(&value)
    }
}

impl From<Phone> for String {
    fn from(p: Phone) -> String {
        p.0
    }
}

/// An 18-character resident identity number (GB 11643) with a correct checksum.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdNumber(String);

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

impl IdNumber {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let id = raw.trim().to_ascii_uppercase();
        let b = id.as_bytes();
        let err = |why: &str| {
            format!(
                "invalid ID number `{}`: {why}",
                mask_any(&truncate(raw, 24))
            )
        };
        if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
            return Err(err("expected 17 digits and a check character"));
        }
        let sum: u32 = b[..17]
            .iter()
            .zip(ID_WEIGHTS)
            .map(|(c, w)| u32::from(c - b'0') * w)
            .sum();
        if ID_CHECK[(sum % 11) as usize] != b[17] {
            return Err(err("check character does not match"));
        }
        Ok(IdNumber(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn masked(&self) -> String {
        format!("{}***********{}", &self.0[..3], &self.0[14..])
    }
}

impl std::fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

impl TryFrom<String> for IdNumber {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        IdNumber::parse(&value)
    }
}

impl From<IdNumber> for String {
    fn from(p: IdNumber) -> String {
        p.0
    }
}

/// Masks all but the first three and last four characters of an arbitrary value,
/// so that an invalid PII value quoted in an error does not leak either.
fn mask_any(raw: &str) -> String {
    let chars: Vec<char> = raw.chars().collect();
    if chars.len() <= 7 {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..3].iter().collect();
    out.push_str(&"*".repeat(chars.len() - 7));
    out.extend(&chars[chars.len() - 4..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_is_masked_as_spec_says() {
        let p = Phone::parse("13812341234").unwrap();
        assert_eq!(p.masked(), "138****1234");
        assert_eq!(
            Phone::parse("+86 138-1234-1234").unwrap().as_str(),
            "13812341234"
        );
        assert!(Phone::parse("12812341234").is_err());
        assert!(Phone::parse("1381234123").is_err());
    }

    #[test]
    fn id_number_checksum_and_mask() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(id.masked(), "110***********002X");
        assert!(IdNumber::parse("110105194912310021").is_err());
        assert!(IdNumber::parse("1101051949").is_err());
    }

    #[test]
    fn invalid_pii_is_masked_in_errors() {
        let err = IdNumber::parse("110105194912310021").unwrap_err();
        assert!(!err.contains("110105194912310021"));
        let err = Phone::parse("13812341234567").unwrap_err();
        assert!(!err.contains("13812341234567"));
    }
}
