//! Facet counts (category, branch, year) of every document a query matches,
//! read from fast fields: per hit, three column lookups into per-segment arrays
//! indexed by term ordinal; the ordinals become names once per segment at the
//! end. The query already carries the caller's visibility, so the counts only
//! ever include documents the caller may see.

use std::collections::BTreeMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use super::query::Facets;

/// Fast-field names the counts come from.
pub const CATEGORY: &str = "category";
pub const BRANCH: &str = "branch";
pub const YEAR: &str = "year";

pub struct FacetCounter;

pub struct SegmentFacets {
    category: Option<(StrColumn, Vec<u64>)>,
    branch: Option<(StrColumn, Vec<u64>)>,
    /// The year column, its smallest value, and counts from that year on.
    year: Option<(Column<u64>, u64, Vec<u64>)>,
}

fn str_counts(column: Option<StrColumn>) -> Option<(StrColumn, Vec<u64>)> {
    column.map(|c| {
        let n = c.num_terms();
        (c, vec![0; n])
    })
}

impl Collector for FacetCounter {
    type Fruit = Facets;
    type Child = SegmentFacets;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        let ff = reader.fast_fields();
        let year = ff.u64(YEAR).ok().map(|c| {
            let (min, max) = (c.min_value(), c.max_value());
            let len = max.saturating_sub(min) as usize + 1;
            (c, min, vec![0; len])
        });
        Ok(SegmentFacets {
            category: str_counts(ff.str(CATEGORY)?),
            branch: str_counts(ff.str(BRANCH)?),
            year,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Facets>) -> tantivy::Result<Facets> {
        let mut out = Facets::default();
        for f in fruits {
            for (total, part) in [
                (&mut out.category, f.category),
                (&mut out.branch, f.branch),
                (&mut out.year, f.year),
            ] {
                for (k, n) in part {
                    *total.entry(k).or_default() += n;
                }
            }
        }
        Ok(out)
    }
}

fn count_ord(counts: &mut Option<(StrColumn, Vec<u64>)>, doc: DocId) {
    if let Some((c, n)) = counts
        && let Some(ord) = c.ords().first(doc)
        && let Some(slot) = n.get_mut(ord as usize)
    {
        *slot += 1;
    }
}

fn names(counts: Option<(StrColumn, Vec<u64>)>) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let Some((column, counts)) = counts else {
        return out;
    };
    for (ord, n) in counts.into_iter().enumerate().filter(|(_, n)| *n > 0) {
        let mut name = String::new();
        if column.ord_to_str(ord as u64, &mut name).unwrap_or(false) {
            out.insert(name, n);
        }
    }
    out
}

impl SegmentCollector for SegmentFacets {
    type Fruit = Facets;

    fn collect(&mut self, doc: DocId, _: Score) {
        count_ord(&mut self.category, doc);
        count_ord(&mut self.branch, doc);
        if let Some((c, min, n)) = &mut self.year
            && let Some(y) = c.first(doc)
            && let Some(slot) = n.get_mut(y.saturating_sub(*min) as usize)
        {
            *slot += 1;
        }
    }

    fn harvest(self) -> Facets {
        let year = self
            .year
            .map(|(_, min, counts)| {
                counts
                    .into_iter()
                    .enumerate()
                    .filter(|(_, n)| *n > 0)
                    .map(|(i, n)| ((min + i as u64).to_string(), n))
                    .collect()
            })
            .unwrap_or_default();
        Facets {
            category: names(self.category),
            branch: names(self.branch),
            year,
        }
    }
}
