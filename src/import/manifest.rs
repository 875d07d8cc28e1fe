//! What an import files (spec §10): the rows of a manifest CSV (UTF-8 with or
//! without BOM, or GB18030 as Excel in China saves it), or, without one, each
//! file of the folder with its `NAME.json` sidecar.
//!
//! A row becomes the file's path and its metadata as JSON, built from the
//! columns named by their JSON path (`vehicle.vin`), or the reason it cannot
//! be filed, naming its row and column. The server checks the metadata as it
//! checks a clerk's; here only what a CSV cell cannot say is checked.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value};

/// The metadata columns a manifest may have besides `file`.
pub const COLUMNS: [&str; 17] = [
    "category",
    "title",
    "branch",
    "confidentiality",
    "vehicle.vin",
    "vehicle.plate",
    "vehicle.model",
    "vehicle.mileage_km",
    "customer.name",
    "customer.phone",
    "customer.id_number",
    "service.order_no",
    "service.service_date",
    "service.technician",
    "summary",
    "transcript",
    "tags",
];

/// One file to file.
#[derive(Debug, Clone)]
pub struct Row {
    /// The path as the manifest gives it (relative to the folder, `/`-separated):
    /// the receipt's `file` and the source path the server keys on.
    pub file: String,
    /// The file on disk.
    pub path: PathBuf,
    /// The manifest row (the header is row 1); `None` for a sidecar.
    pub row: Option<usize>,
    /// The metadata to send, or why the row is refused.
    pub metadata: Result<Value, String>,
}

/// Decodes a manifest's bytes: UTF-8 (a BOM is dropped), else GB18030.
///
/// # Errors
/// Neither encoding reads it.
pub fn decode(bytes: &[u8]) -> Result<String, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_string());
    }
    encoding_rs::GB18030
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|t| t.into_owned())
        .ok_or_else(|| "the manifest is neither UTF-8 nor GB18030 text".to_string())
}

/// The rows of a manifest, in order.
///
/// # Errors
/// The manifest as a whole cannot be read: its encoding, its CSV, a header
/// without `file` or with a column that is no metadata field.
pub fn from_csv(dir: &Path, text: &str) -> Result<Vec<Row>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("the manifest's header row: {e}"))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let Some(file_col) = headers.iter().position(|h| h == "file") else {
        return Err("the manifest has no `file` column".into());
    };
    for (n, h) in headers.iter().enumerate() {
        if n != file_col && !COLUMNS.contains(&h.as_str()) {
            return Err(format!(
                "the manifest's column {} (`{h}`) is not a metadata field; the columns are file, {}",
                n + 1,
                COLUMNS.join(", ")
            ));
        }
    }
    let mut rows = vec![];
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (n, record) in reader.records().enumerate() {
        // Row numbers as a spreadsheet shows them: the header is row 1.
        let row_no = n + 2;
        let record = record.map_err(|e| format!("row {row_no}: {e}"))?;
        let file = record.get(file_col).unwrap_or("").trim().replace('\\', "/");
        let metadata = (|| {
            let path =
                checked_path(&file).map_err(|e| format!("row {row_no}, column file: {e}"))?;
            if let Some(first) = seen.insert(file.clone(), row_no) {
                return Err(format!(
                    "row {row_no} lists the same file as row {first}; it is filed once"
                ));
            }
            let _ = path;
            let mut metadata = Value::Object(Map::new());
            for (col, cell) in headers.iter().zip(record.iter()) {
                if col == "file" || cell.trim().is_empty() {
                    continue;
                }
                let value = cell_value(col, cell.trim())
                    .map_err(|e| format!("row {row_no}, column {col}: {e}"))?;
                set_path(&mut metadata, col, value);
            }
            Ok(metadata)
        })();
        rows.push(Row {
            path: dir.join(&file),
            file,
            row: Some(row_no),
            metadata,
        });
    }
    Ok(rows)
}

/// Every file under `dir` (sorted, sidecars and hidden files left out) with
/// the metadata of its `NAME.json` sidecar.
///
/// # Errors
/// The folder cannot be read.
pub fn from_sidecars(dir: &Path) -> Result<Vec<Row>, String> {
    let mut files = vec![];
    walk(dir, dir, &mut files).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    files.sort();
    Ok(files
        .into_iter()
        .map(|file| {
            let path = dir.join(&file);
            let sidecar = PathBuf::from(format!("{}.json", path.display()));
            let metadata = match std::fs::read(&sidecar) {
                Ok(bytes) => serde_json::from_slice::<Value>(&bytes)
                    .map_err(|e| format!("the sidecar {file}.json is not JSON: {e}"))
                    .and_then(|v| {
                        v.is_object()
                            .then_some(v)
                            .ok_or_else(|| format!("the sidecar {file}.json is not a JSON object"))
                    }),
                Err(_) => Err(format!("no sidecar {file}.json beside the file")),
            };
            Row {
                file,
                path,
                row: None,
                metadata,
            }
        })
        .collect())
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            walk(root, &path, out)?;
        } else if !name.ends_with(".json") {
            let relative = path.strip_prefix(root).expect("under root");
            out.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

/// A manifest's path, relative and inside the folder.
fn checked_path(file: &str) -> Result<&Path, String> {
    if file.is_empty() {
        return Err("empty".into());
    }
    let path = Path::new(file);
    if path
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!("`{file}` is not a path inside the folder"));
    }
    Ok(path)
}

/// A cell as the JSON value of its column.
fn cell_value(column: &str, cell: &str) -> Result<Value, String> {
    match column {
        "vehicle.mileage_km" => cell
            .replace([',', '_'], "")
            .parse::<u64>()
            .map(Value::from)
            .map_err(|_| format!("`{cell}` is not a whole number of kilometres")),
        "tags" => Ok(Value::Array(
            cell.split([';', '；'])
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(Value::from)
                .collect(),
        )),
        _ => Ok(Value::from(cell)),
    }
}

/// Sets `a.b` in `root` to `value`, creating `a`.
fn set_path(root: &mut Value, path: &str, value: Value) {
    let mut at = root;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let map = at.as_object_mut().expect("objects all the way down");
        if parts.peek().is_none() {
            map.insert(part.to_string(), value);
            return;
        }
        at = map
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gb18030_and_bom_manifests_decode_alike() {
        let text = "file,title\na.txt,维修委托书\n";
        let (gb, _, _) = encoding_rs::GB18030.encode(text);
        assert_eq!(decode(&gb).unwrap(), text);
        let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        assert_eq!(decode(&bom).unwrap(), text);
    }

    #[test]
    fn rows_become_nested_metadata_or_say_row_and_column() {
        let csv = "file,category,vehicle.vin,vehicle.mileage_km,tags\n\
                   a.pdf,WX,LFV2A21K2M3000001,\"12,500\",保养;首保\n\
                   b.pdf,WX,,12 千米,\n\
                   a.pdf,WX,,,\n\
                   ../etc/passwd,WX,,,\n";
        let rows = from_csv(Path::new("/in"), csv).unwrap();
        let m = rows[0].metadata.as_ref().unwrap();
        assert_eq!(m["vehicle"]["vin"], "LFV2A21K2M3000001");
        assert_eq!(m["vehicle"]["mileage_km"], 12500);
        assert_eq!(m["tags"], serde_json::json!(["保养", "首保"]));
        assert_eq!(rows[0].path, Path::new("/in/a.pdf"));
        let e = rows[1].metadata.as_ref().unwrap_err();
        assert!(e.contains("row 3, column vehicle.mileage_km"), "{e}");
        assert!(
            rows[2]
                .metadata
                .as_ref()
                .unwrap_err()
                .contains("same file as row 2")
        );
        assert!(
            rows[3]
                .metadata
                .as_ref()
                .unwrap_err()
                .contains("column file")
        );
    }

    #[test]
    fn unknown_columns_and_a_missing_file_column_stop_the_run() {
        assert!(
            from_csv(Path::new("."), "file,colour\na,b\n")
                .unwrap_err()
                .contains("colour")
        );
        assert!(
            from_csv(Path::new("."), "title\nx\n")
                .unwrap_err()
                .contains("`file`")
        );
    }
}
