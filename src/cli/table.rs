//! Plain-text tables and timestamps for the CLI's human-readable output.

/// Left-aligned columns separated by two spaces, headers first.
pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let header_row: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header_row).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell() {
        let text = render(
            &["JOB", "ACTIVE"],
            &[
                vec!["www/prod/hello".into(), "2".into()],
                vec!["a/b/c".into(), "10".into()],
            ],
        );
        assert_eq!(
            text,
            "JOB             ACTIVE\nwww/prod/hello  2\na/b/c           10\n"
        );
    }
}
