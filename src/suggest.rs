//! "Did you mean …?": the nearest known name to a misspelled one, for the
//! hints of errors about names (subcommands, workflows, validation types).

/// The known name closest to `word`, when it is close enough to be what
/// was meant (by Jaro similarity, as clap judges its own suggestions).
pub fn closest<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .filter(|k| *k != word)
        .map(|k| (strsim::jaro(word, k), k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_are_found_and_strangers_are_not() {
        let types = crate::contract::BUILTIN_TYPES;
        assert_eq!(
            closest("contains_heading", types),
            Some("contains_headings")
        );
        assert_eq!(closest("min_source", types), Some("min_sources"));
        assert_eq!(closest("viz_tech_match", types), None);
        assert_eq!(closest("lsit", ["start", "list", "show"]), Some("list"));
        assert_eq!(closest("resmue", ["resume", "show"]), Some("resume"));
        assert_eq!(closest("visual-essay", ["start", "list"]), None);
    }
}
