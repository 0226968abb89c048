//! The languages guidance is given in: the codes every `languages` field and filter takes,
//! with their names in Bokmål, Nynorsk and English (the list is `common::languages`).

use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use crate::common::languages::{OFFERED, OfferedLanguage};
use crate::http::error::{E400, Failure};
use crate::http::pagination::PageRequest;
use crate::tags::ApiTags;

/// A language the API takes.
#[derive(Debug, Clone, Object)]
pub struct Language {
    /// Its BCP 47 primary language subtag, as `languages` fields take it.
    pub code: String,
    pub name_nb: String,
    pub name_nn: String,
    pub name_en: String,
}

impl From<&OfferedLanguage> for Language {
    fn from(language: &OfferedLanguage) -> Self {
        Self {
            code: language.code.into(),
            name_nb: language.name_nb.into(),
            name_nn: language.name_nn.into(),
            name_en: language.name_en.into(),
        }
    }
}

crate::page_object!(LanguagePage, Language);

#[derive(ApiResponse)]
pub enum LanguageListResponse {
    /// A page of languages, by code.
    #[oai(status = 200)]
    Ok(Json<LanguagePage>),
}

#[derive(Default)]
pub struct LanguagesApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Languages")]
impl LanguagesApi {
    /// List the languages
    ///
    /// The codes that locations' and topic resources' `languages` and the `language`
    /// filters take (BCP 47 primary subtags: `nb`, `se` for Northern Sámi, `smj`, `sma`,
    /// `fkv` for Kven, `nsl` for Norwegian Sign Language, `ti`, `so`, `ur`, ...), by code,
    /// with their names in Bokmål, Nynorsk and English.
    #[oai(path = "/languages", method = "get", operation_id = "list_languages")]
    async fn list(
        &self,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<LanguageListResponse, Failure<{ E400 }>> {
        let page = PageRequest::<String>::new(limit.0, cursor.0.as_deref())?;
        let after = page.after.clone().unwrap_or_default();
        let rows: Vec<&OfferedLanguage> = OFFERED
            .iter()
            .filter(|language| language.code > after.as_str())
            .take(usize::try_from(page.fetch()).unwrap_or(usize::MAX))
            .collect();
        let page = page.page::<_, Language>(rows, |language| language.code.to_string());
        Ok(LanguageListResponse::Ok(Json(page.into())))
    }
}
