//! Vehicle identifiers: the VIN (ISO 3779 / GB 16735, with its check digit) and
//! the Chinese licence plate (车牌号).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::people::truncate;

/// A 17-character vehicle identification number whose check digit is correct.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Vin(String);

const VIN_WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

fn vin_value(c: u8) -> Option<u32> {
    Some(match c {
        b'0'..=b'9' => u32::from(c - b'0'),
        b'A' | b'J' => 1,
        b'B' | b'K' | b'S' => 2,
        b'C' | b'L' | b'T' => 3,
        b'D' | b'M' | b'U' => 4,
        b'E' | b'N' | b'V' => 5,
        b'F' | b'W' => 6,
        b'G' | b'P' | b'X' => 7,
        b'H' | b'Y' => 8,
        b'R' | b'Z' => 9,
        _ => return None, // I, O, Q and anything else never appear in a VIN
    })
}

/// The check digit (position 9) a VIN with these characters must carry.
pub fn vin_check_digit(vin: &[u8]) -> Option<u8> {
    let mut total = 0;
    for (i, &c) in vin.iter().enumerate().take(17) {
        total += vin_value(c)? * VIN_WEIGHTS[i];
    }
    let rem = total % 11;
    Some(if rem == 10 { b'X' } else { b'0' + rem as u8 })
}

impl Vin {
    /// Parses a VIN: trimmed, upper-cased, 17 characters from the VIN alphabet,
    /// with a correct check digit in position 9.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let vin = raw.trim().to_ascii_uppercase();
        let bytes = vin.as_bytes();
        if bytes.len() != 17 || !vin.is_ascii() {
            return Err(format!(
                "invalid VIN `{}`: a VIN has exactly 17 characters",
                truncate(raw, 40)
            ));
        }
        let Some(expected) = vin_check_digit(bytes) else {
            return Err(format!(
                "invalid VIN `{}`: only digits and letters other than I, O and Q are allowed",
                truncate(raw, 40)
            ));
        };
        if bytes[8] != expected {
            return Err(format!(
                "invalid VIN `{vin}`: check digit (9th character) is {} but should be {}",
                bytes[8] as char, expected as char
            ));
        }
        Ok(Vin(vin))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Vin {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Vin::parse(&value)
    }
}

impl From<Vin> for String {
    fn from(v: Vin) -> String {
        v.0
    }
}

impl fmt::Display for Vin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A mainland licence plate, stored without separator: `京A12345`, `粤B D12345`
/// (new-energy plates have six characters after the letter).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Plate(String);

/// The province (and embassy) characters a plate starts with.
pub const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领";
/// The characters that may end a plate (trailer, learner, police, HK, Macao).
pub const PLATE_SUFFIXES: &str = "挂学警港澳";

impl Plate {
    /// Parses a plate, accepting the usual separators (`·`, `•`, `.`, `-`, space)
    /// and lower-case letters, and normalising to the bare upper-case form.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let norm: String = raw
            .chars()
            .filter(|c| !matches!(c, '·' | '•' | '.' | '-' | ' ' | '\u{3000}'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let mut chars = norm.chars();
        let err = || {
            format!(
                "invalid plate `{}`: expected a form such as 京A·12345",
                truncate(raw, 20)
            )
        };
        let province = chars.next().ok_or_else(err)?;
        let letter = chars.next().ok_or_else(err)?;
        if !PROVINCES.contains(province) || !letter.is_ascii_uppercase() {
            return Err(err());
        }
        let mut rest: Vec<char> = chars.collect();
        if rest.last().is_some_and(|c| PLATE_SUFFIXES.contains(*c)) {
            rest.pop();
        }
        let valid_len = (4..=6).contains(&rest.len());
        if !valid_len
            || !rest
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            return Err(err());
        }
        Ok(Plate(norm))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Plate {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Plate::parse(&value)
    }
}

impl From<Plate> for String {
    fn from(p: Plate) -> String {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_vins_with_correct_check_digit() {
        // Classic example from the North American standard, and a Chinese one.
        assert!(Vin::parse("1M8GDM9AXKP042788").is_ok());
        assert!(Vin::parse("11111111111111111").is_ok());
        let mut vin = *b"LFV2A21K0M3000001";
        vin[8] = vin_check_digit(&vin).unwrap();
        assert!(Vin::parse(std::str::from_utf8(&vin).unwrap()).is_ok());
    }

    #[test]
    fn rejects_bad_vins_with_a_reason() {
        assert!(Vin::parse("1M8GDM9AXKP04278").unwrap_err().contains("17"));
        assert!(
            Vin::parse("1M8GDM9A1KP042788")
                .unwrap_err()
                .contains("check digit")
        );
        assert!(
            Vin::parse("IM8GDM9AXKP042788")
                .unwrap_err()
                .contains("I, O and Q")
        );
        assert!(Vin::parse("车架号车架号车架号车架号车架号车架").is_err());
    }

    #[test]
    fn vin_is_normalised_to_upper_case() {
        assert_eq!(
            Vin::parse(" 1m8gdm9axkp042788 ").unwrap().as_str(),
            "1M8GDM9AXKP042788"
        );
    }

    #[test]
    fn plates_normalise_separators() {
        assert_eq!(Plate::parse("京A·12345").unwrap().as_str(), "京A12345");
        assert_eq!(Plate::parse("粤b d12345").unwrap().as_str(), "粤BD12345");
        assert_eq!(Plate::parse("沪A1234学").unwrap().as_str(), "沪A1234学");
        assert!(Plate::parse("XA12345").is_err());
        assert!(Plate::parse("京A1").is_err());
        assert!(Plate::parse("").is_err());
    }
}
