//! The order in which a snapshot reads its tables: Debezium's, i.e. the order of the patterns
//! in `table.include.list` (tables matching the same pattern, and all tables when there is
//! no include list, by name).

/// Sort `tables` (`schema.table`) by the index of the first include pattern they match, then
/// by name. `matches(pattern_index, table)` tells whether a pattern admits a table.
pub fn include_list_order(
    tables: &mut [String],
    patterns: usize,
    matches: impl Fn(usize, &str) -> bool,
) {
    tables.sort_by_cached_key(|t| {
        let rank = (0..patterns).find(|&i| matches(i, t)).unwrap_or(patterns);
        (rank, t.clone())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_include_list() {
        let patterns = ["public.customers", "public.all_types", "public.nopk"];
        let mut tables: Vec<String> = [
            "public.all_types",
            "public.nopk",
            "public.customers",
            "public.zzz",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        include_list_order(&mut tables, patterns.len(), |i, t| patterns[i] == t);
        assert_eq!(
            tables,
            [
                "public.customers",
                "public.all_types",
                "public.nopk",
                "public.zzz"
            ]
        );
    }
}
