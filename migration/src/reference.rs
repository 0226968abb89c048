//! The official lists of counties and municipalities of 1 January 2024 (Statistics Norway and
//! Kartverket), compiled into the binary so that a fresh database needs nothing else.

use serde::Deserialize;

const COUNTIES_CSV: &str = include_str!("../data/fylker_2024.csv");
const MUNICIPALITIES_CSV: &str = include_str!("../data/kommuner_2024.csv");

#[derive(Debug, Deserialize)]
pub struct CountyRow {
    pub fylkesnummer: String,
    pub fylkesnavn: String,
    pub fylkesnavn_official: String,
}

#[derive(Debug, Deserialize)]
pub struct MunicipalityRow {
    pub kommunenummer: String,
    pub name: String,
    pub fylkesnummer: String,
    pub organisasjonsnummer: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

pub fn counties() -> Result<Vec<CountyRow>, csv::Error> {
    read(COUNTIES_CSV)
}

pub fn municipalities() -> Result<Vec<MunicipalityRow>, csv::Error> {
    read(MUNICIPALITIES_CSV)
}

fn read<T: for<'de> Deserialize<'de>>(data: &str) -> Result<Vec<T>, csv::Error> {
    csv::Reader::from_reader(data.as_bytes())
        .deserialize()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_hold_15_counties_and_357_municipalities() {
        assert_eq!(counties().unwrap().len(), 15);
        let municipalities = municipalities().unwrap();
        assert_eq!(municipalities.len(), 357);
        let oslo = municipalities
            .iter()
            .find(|m| m.kommunenummer == "0301")
            .unwrap();
        assert_eq!(
            (oslo.name.as_str(), oslo.fylkesnummer.as_str()),
            ("Oslo", "03")
        );
        assert_eq!(oslo.organisasjonsnummer, "958935420");
    }
}
