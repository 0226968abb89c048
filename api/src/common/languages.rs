//! The languages guidance is offered in: BCP 47 primary language subtags (the ISO 639-1 code
//! where the language has one, else its ISO 639-3 code), each with its name in the two
//! written standards of Norwegian and in English. Every code is checked against the ISO 639
//! tables of the `isolang` crate by a test below.
//!
//! The list covers the languages of Norway (Norwegian, the Sámi languages, Kven, Norwegian
//! Sign Language, Romani and Romanes), the neighbour and EU/EEA languages, and the languages
//! of the immigrant groups HK-dir's guidance material is written for.

/// A language of the offered list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfferedLanguage {
    pub code: &'static str,
    pub name_nb: &'static str,
    pub name_nn: &'static str,
    pub name_en: &'static str,
}

const fn lang(
    code: &'static str,
    name_nb: &'static str,
    name_nn: &'static str,
    name_en: &'static str,
) -> OfferedLanguage {
    OfferedLanguage {
        code,
        name_nb,
        name_nn,
        name_en,
    }
}

/// The offered languages, in code order (the order of `GET /languages`).
pub const OFFERED: &[OfferedLanguage] = &[
    lang("am", "amharisk", "amharisk", "Amharic"),
    lang("ar", "arabisk", "arabisk", "Arabic"),
    lang("bg", "bulgarsk", "bulgarsk", "Bulgarian"),
    lang("bn", "bengali", "bengali", "Bengali"),
    lang("bs", "bosnisk", "bosnisk", "Bosnian"),
    lang("ckb", "sorani", "sorani", "Central Kurdish (Sorani)"),
    lang("cs", "tsjekkisk", "tsjekkisk", "Czech"),
    lang("da", "dansk", "dansk", "Danish"),
    lang("de", "tysk", "tysk", "German"),
    lang("el", "gresk", "gresk", "Greek"),
    lang("en", "engelsk", "engelsk", "English"),
    lang("es", "spansk", "spansk", "Spanish"),
    lang("et", "estisk", "estisk", "Estonian"),
    lang("fa", "persisk", "persisk", "Persian"),
    lang("fi", "finsk", "finsk", "Finnish"),
    lang("fkv", "kvensk", "kvensk", "Kven"),
    lang("fr", "fransk", "fransk", "French"),
    lang("he", "hebraisk", "hebraisk", "Hebrew"),
    lang("hi", "hindi", "hindi", "Hindi"),
    lang("hr", "kroatisk", "kroatisk", "Croatian"),
    lang("hu", "ungarsk", "ungarsk", "Hungarian"),
    lang("is", "islandsk", "islandsk", "Icelandic"),
    lang("it", "italiensk", "italiensk", "Italian"),
    lang("ja", "japansk", "japansk", "Japanese"),
    lang(
        "kmr",
        "kurmandsji",
        "kurmandsji",
        "Northern Kurdish (Kurmanji)",
    ),
    lang("ko", "koreansk", "koreansk", "Korean"),
    lang("ku", "kurdisk", "kurdisk", "Kurdish"),
    lang("lt", "litauisk", "litauisk", "Lithuanian"),
    lang("lv", "latvisk", "latvisk", "Latvian"),
    lang("my", "burmesisk", "burmesisk", "Burmese"),
    lang("nb", "norsk bokmål", "norsk bokmål", "Norwegian Bokmål"),
    lang("ne", "nepali", "nepali", "Nepali"),
    lang("nl", "nederlandsk", "nederlandsk", "Dutch"),
    lang("nn", "norsk nynorsk", "norsk nynorsk", "Norwegian Nynorsk"),
    lang("no", "norsk", "norsk", "Norwegian"),
    lang(
        "nsl",
        "norsk tegnspråk",
        "norsk teiknspråk",
        "Norwegian Sign Language",
    ),
    lang("om", "oromo", "oromo", "Oromo"),
    lang("pa", "panjabi", "panjabi", "Punjabi"),
    lang("pl", "polsk", "polsk", "Polish"),
    lang("prs", "dari", "dari", "Dari"),
    lang("ps", "pashto", "pashto", "Pashto"),
    lang("pt", "portugisisk", "portugisisk", "Portuguese"),
    lang("rmu", "romani", "romani", "Scandinavian Romani"),
    lang("rmy", "romanes", "romanes", "Vlax Romani (Romanes)"),
    lang("ro", "rumensk", "rumensk", "Romanian"),
    lang("rom", "romanispråk", "romanispråk", "Romani"),
    lang("ru", "russisk", "russisk", "Russian"),
    lang("se", "nordsamisk", "nordsamisk", "Northern Sámi"),
    lang("sk", "slovakisk", "slovakisk", "Slovak"),
    lang("sma", "sørsamisk", "sørsamisk", "Southern Sámi"),
    lang("smj", "lulesamisk", "lulesamisk", "Lule Sámi"),
    lang("so", "somali", "somali", "Somali"),
    lang("sq", "albansk", "albansk", "Albanian"),
    lang("sr", "serbisk", "serbisk", "Serbian"),
    lang("sv", "svensk", "svensk", "Swedish"),
    lang("sw", "swahili", "swahili", "Swahili"),
    lang("ta", "tamil", "tamil", "Tamil"),
    lang("th", "thai", "thai", "Thai"),
    lang("ti", "tigrinja", "tigrinja", "Tigrinya"),
    lang("tl", "tagalog", "tagalog", "Tagalog"),
    lang("tr", "tyrkisk", "tyrkisk", "Turkish"),
    lang("uk", "ukrainsk", "ukrainsk", "Ukrainian"),
    lang("ur", "urdu", "urdu", "Urdu"),
    lang("vi", "vietnamesisk", "vietnamesisk", "Vietnamese"),
    lang("zh", "kinesisk", "kinesisk", "Chinese"),
];

crate::checked_text!(
    /// A language code of the offered list (`GET /api/v1/languages`), e.g. `nb`, `se`, `ar`.
    LanguageText,
    min = 2,
    max = 3,
    pattern = crate::common::values::LanguageCode::pattern()
);

/// The offered language with this code.
pub fn offered(code: &str) -> Option<&'static OfferedLanguage> {
    OFFERED
        .binary_search_by(|language| language.code.cmp(code))
        .ok()
        .map(|i| &OFFERED[i])
}

/// Whether `code` is a BCP 47 primary language subtag (RFC 5646 §2.2.1): an ISO 639-1 code,
/// or the ISO 639-3 code of a language that has no ISO 639-1 code. Stored values are read
/// with this, so a language taken off the offered list does not make old rows unreadable.
pub fn is_primary_subtag(code: &str) -> bool {
    match code.len() {
        2 => isolang::Language::from_639_1(code).is_some(),
        3 => isolang::Language::from_639_3(code).is_some_and(|l| l.to_639_1().is_none()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_offered_code_is_a_bcp_47_primary_subtag_of_iso_639() {
        for language in OFFERED {
            assert!(
                is_primary_subtag(language.code),
                "{} is not a BCP 47 primary subtag",
                language.code
            );
            for name in [language.name_nb, language.name_nn, language.name_en] {
                assert!(!name.trim().is_empty(), "{} lacks a name", language.code);
            }
        }
    }

    #[test]
    fn the_list_is_in_code_order_without_repeats() {
        assert!(OFFERED.windows(2).all(|w| w[0].code < w[1].code));
    }

    #[test]
    fn the_languages_of_norway_and_of_the_guidance_material_are_offered() {
        for code in [
            "nb", "nn", "se", "smj", "sma", "fkv", "nsl", "rom", "rmu", "rmy", "ur", "ti", "so",
            "pl", "ar", "fa", "prs", "ps", "ku", "uk", "ru", "en",
        ] {
            assert!(offered(code).is_some(), "{code}");
        }
        assert_eq!(offered("nsl").unwrap().name_nn, "norsk teiknspråk");
    }

    #[test]
    fn the_iso_639_3_code_of_a_language_with_a_two_letter_code_is_not_a_subtag() {
        // BCP 47 takes the shortest code: Bokmål is `nb`, never `nob`.
        assert!(!is_primary_subtag("nob"));
        assert!(!is_primary_subtag("qf"));
        assert!(!is_primary_subtag(""));
        assert!(!is_primary_subtag("NB"));
        assert!(is_primary_subtag("smj"));
        // `nsi` is Nigerian Sign Language in ISO 639-3; Norwegian Sign Language is `nsl`.
        assert_eq!(
            isolang::Language::from_639_3("nsi").map(|l| l.to_name()),
            Some("Nigerian Sign Language")
        );
        assert_eq!(
            isolang::Language::from_639_3("nsl").map(|l| l.to_name()),
            Some("Norwegian Sign Language")
        );
    }
}
