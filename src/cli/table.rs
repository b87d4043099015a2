//! Aligned text tables for terminal output (`plan`, `status`, `cache ls`, `delete`).

/// Rows as an aligned table: columns padded to their widest cell (counted in characters),
/// two spaces between columns, no trailing blanks, one `\n` per row.
pub(super) fn aligned<R: AsRef<[String]>>(rows: &[R]) -> String {
    let cols = rows.iter().map(|r| r.as_ref().len()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.as_ref().get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .as_ref()
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::aligned;

    #[test]
    fn pads_by_characters_and_trims_line_ends() {
        let rows = vec![
            vec!["STEP".to_owned(), "GPU".to_owned(), "NOTE".to_owned()],
            vec!["préparer".to_owned(), "2×h100".to_owned(), String::new()],
        ];
        assert_eq!(aligned(&rows), "STEP      GPU     NOTE\npréparer  2×h100\n");
    }
}
