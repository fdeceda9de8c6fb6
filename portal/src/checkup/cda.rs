//! One 特定健診情報ファイル (HL7 CDA R2, MHLW `hc08_V08`, spec §4.1) parsed into a
//! [`CheckupDocument`].
//!
//! The file is parsed once, here, at the boundary: everything after this works on typed values.
//! Every error names the XML path it is about (`/ClinicalDocument/recordTarget/...: reason`) so
//! an importer can tell an institution exactly what is wrong with its file. DTDs are refused
//! (roxmltree's default), so entity expansion cannot blow up memory.

use roxmltree::{Document, Node};
use time::{Date, Month};

/// The CDA namespace.
pub const NS_HL7: &str = "urn:hl7-org:v3";
const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

const OID_INSURER: &str = "1.2.392.200119.6.101";
const OID_INSTITUTION: &str = "1.2.392.200119.6.102";
const OID_CARD_SYMBOL: &str = "1.2.392.200119.6.204";
const OID_CARD_NUMBER: &str = "1.2.392.200119.6.205";
const OID_BRANCH: &str = "1.2.392.200119.6.211";

/// A CDA instance identifier (`II`): an OID and an optional extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceId {
    pub root: String,
    pub extension: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    Male,
    Female,
}

/// One exam of one person, as the institution reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckupDocument {
    pub document_id: InstanceId,
    /// 報告区分 (OID …6.1001): `10` 特定健診, `41` 事業者健診, `42` 自治体検診 …
    pub report_category: String,
    /// 保険者番号 (8 digits for a kenpo).
    pub insurer_number: String,
    /// 被保険者証等記号; some insurers issue none.
    pub card_symbol: Option<String>,
    /// 被保険者証等番号.
    pub card_number: String,
    /// 枝番 (OID …6.211), when the file carries one.
    pub branch: Option<String>,
    pub name: String,
    pub sex: Sex,
    pub birth_date: Date,
    pub institution_name: String,
    /// 健診機関番号 (10 digits).
    pub institution_number: String,
    /// 健診プログラム種別 (OID …6.1002): `010` 特定健診 …
    pub program_code: String,
    pub exam_date: Date,
    pub observations: Vec<Observation>,
}

impl CheckupDocument {
    /// The first observation whose code is in `codes`, trying the codes in order.
    pub fn find(&self, codes: &[&str]) -> Option<&Observation> {
        codes.iter().find_map(|code| self.observations.iter().find(|o| o.code == *code))
    }
}

/// One `entry/observation`: an item code and its result.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Section code (OID …6.1010): `01010` 検査・問診結果, `01990` 任意追加項目.
    pub section: String,
    /// 項目コード: JLAC10, 17 digits.
    pub code: String,
    /// The `displayName` the institution sent, if any.
    pub name: Option<String>,
    pub value: ObservationValue,
    /// `interpretationCode/@code` (e.g. `H`, `L`, `N`) as sent; not used for our own judgements.
    pub interpretation: Option<String>,
    /// `referenceRange/observationRange/text`, the institution's 基準値 text.
    pub reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ObservationValue {
    /// `PQ`: `text` is the decimal exactly as written (so `5.40` stays `5.40`), `value` its number.
    Quantity { text: String, value: f64, unit: Option<String> },
    /// `CD` / `CO`: a code from the item's value set.
    Coded { code: String, display: Option<String> },
    /// `ST`: free text (医師の判断, 所見 …).
    Text(String),
    /// The value carries a `nullFlavor` (not measured, not asked …) instead of a result.
    Absent { null_flavor: String },
}

impl Observation {
    /// The number of a `PQ` value.
    pub fn quantity(&self) -> Option<f64> {
        match self.value {
            ObservationValue::Quantity { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The code of a `CD`/`CO` value.
    pub fn coded(&self) -> Option<&str> {
        match &self.value {
            ObservationValue::Coded { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// Why a file is not a usable 特定健診情報ファイル. Displays as `path: reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CdaError {
    #[error("/: not a well-formed XML document: {reason}")]
    NotXml { reason: String },
    #[error("{path}: expected ClinicalDocument in namespace {NS_HL7}, found {found}")]
    WrongRoot { path: String, found: String },
    #[error("{path}: required element or attribute is missing")]
    Missing { path: String },
    #[error("{path}: {reason}")]
    Invalid { path: String, reason: String },
}

impl CdaError {
    /// The XML path the error is about.
    pub fn path(&self) -> &str {
        match self {
            CdaError::NotXml { .. } => "/",
            CdaError::WrongRoot { path, .. }
            | CdaError::Missing { path }
            | CdaError::Invalid { path, .. } => path,
        }
    }
}

/// Parse a file's bytes (UTF-8, with or without a BOM).
pub fn parse(bytes: &[u8]) -> Result<CheckupDocument, CdaError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text =
        std::str::from_utf8(bytes).map_err(|e| CdaError::NotXml { reason: format!("not UTF-8 ({e})") })?;
    parse_str(text)
}

/// Parse a file already decoded to text.
pub fn parse_str(xml: &str) -> Result<CheckupDocument, CdaError> {
    let doc = Document::parse(xml).map_err(|e| CdaError::NotXml { reason: e.to_string() })?;
    let root = doc.root_element();
    let path = format!("/{}", root.tag_name().name());
    if root.tag_name().name() != "ClinicalDocument" || root.tag_name().namespace() != Some(NS_HL7) {
        let found = match root.tag_name().namespace() {
            Some(ns) => format!("{{{ns}}}{}", root.tag_name().name()),
            None => format!("{} without a namespace", root.tag_name().name()),
        };
        return Err(CdaError::WrongRoot { path, found });
    }
    let root = At { node: root, path };

    let id = root.child("id")?;
    let document_id = InstanceId { root: id.attr("root")?, extension: id.opt_attr("extension") };
    let report_category = root.child("code")?.attr("code")?;

    let patient_role = root.child("recordTarget")?.child("patientRole")?;
    let ids = patient_role.children("id");
    let id_with = |oid: &str| ids.iter().find(|i| i.node.attribute("root") == Some(oid));
    let insurer_number = match id_with(OID_INSURER) {
        Some(i) => i.attr("extension")?,
        None => return Err(patient_role.missing(&format!("id[@root='{OID_INSURER}']"))),
    };
    let card_number = match id_with(OID_CARD_NUMBER) {
        Some(i) => i.attr("extension")?,
        None => return Err(patient_role.missing(&format!("id[@root='{OID_CARD_NUMBER}']"))),
    };
    let card_symbol = id_with(OID_CARD_SYMBOL).and_then(|i| i.opt_attr("extension"));
    let branch = id_with(OID_BRANCH).and_then(|i| i.opt_attr("extension"));

    let patient = patient_role.child("patient")?;
    let name = patient.child("name")?.text()?;
    let gender = patient.child("administrativeGenderCode")?;
    let sex = match gender.attr("code")?.as_str() {
        "1" => Sex::Male,
        "2" => Sex::Female,
        other => return Err(gender.at("@code").invalid(format!("sex code must be 1 or 2, found {other:?}"))),
    };
    let birth_date = patient.child("birthTime")?.date()?;

    let organization = root.child("author")?.child("assignedAuthor")?.child("representedOrganization")?;
    let institution_number = match organization
        .children("id")
        .into_iter()
        .find(|i| i.node.attribute("root") == Some(OID_INSTITUTION))
    {
        Some(i) => i.attr("extension")?,
        None => return Err(organization.missing(&format!("id[@root='{OID_INSTITUTION}']"))),
    };
    let institution_name = organization.child("name")?.text()?;

    let service_event = root.child("documentationOf")?.child("serviceEvent")?;
    let program_code = service_event.child("code")?.attr("code")?;
    let exam_date = service_event.child("effectiveTime")?.date()?;

    let body = root.child("component")?.child("structuredBody")?;
    let mut observations = Vec::new();
    for component in body.children("component") {
        let section = component.child("section")?;
        let section_code = section.child("code")?.attr("code")?;
        for entry in section.children("entry") {
            collect_observations(&entry, &section_code, &mut observations)?;
        }
    }

    Ok(CheckupDocument {
        document_id,
        report_category,
        insurer_number,
        card_symbol,
        card_number,
        branch,
        name,
        sex,
        birth_date,
        institution_name,
        institution_number,
        program_code,
        exam_date,
        observations,
    })
}

/// Observations of an entry, including those grouped under `entryRelationship` (一連検査).
/// A grouping observation without a `value` is a header and yields nothing itself.
fn collect_observations(
    parent: &At<'_, '_>,
    section: &str,
    out: &mut Vec<Observation>,
) -> Result<(), CdaError> {
    for observation in parent.children("observation") {
        let code_node = observation.child("code")?;
        let code = code_node.attr("code")?;
        // Make the path name the item, so "which item is broken" is in the message.
        let observation = At { node: observation.node, path: format!("{}[code={code}]", observation.path) };
        if let Some(value) = observation.opt_child("value") {
            out.push(Observation {
                section: section.to_owned(),
                name: code_node.opt_attr("displayName"),
                value: parse_value(&value)?,
                interpretation: observation.opt_child("interpretationCode").and_then(|i| i.opt_attr("code")),
                reference: observation
                    .opt_child("referenceRange")
                    .and_then(|r| r.opt_child("observationRange"))
                    .and_then(|r| r.opt_child("text"))
                    .and_then(|t| t.text().ok()),
                code: check_item_code(&code_node, code)?,
            });
        }
        for relationship in observation.children("entryRelationship") {
            collect_observations(&relationship, section, out)?;
        }
    }
    Ok(())
}

fn check_item_code(node: &At<'_, '_>, code: String) -> Result<String, CdaError> {
    if code.len() == 17 && code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(code)
    } else {
        Err(node.at("@code").invalid(format!("item code must be 17 JLAC10 characters, found {code:?}")))
    }
}

fn parse_value(value: &At<'_, '_>) -> Result<ObservationValue, CdaError> {
    if let Some(null_flavor) = value.opt_attr("nullFlavor") {
        return Ok(ObservationValue::Absent { null_flavor });
    }
    let xsi_type = match value.node.attribute((NS_XSI, "type")) {
        Some(t) => t.rsplit(':').next().unwrap_or(t).to_owned(),
        None => return Err(value.missing("@xsi:type")),
    };
    match xsi_type.as_str() {
        "PQ" => {
            let text = value.attr("value")?;
            let number = parse_decimal(&text)
                .ok_or_else(|| value.at("@value").invalid(format!("not a decimal number: {text:?}")))?;
            Ok(ObservationValue::Quantity { text, value: number, unit: value.opt_attr("unit") })
        }
        "CD" | "CO" | "CE" => {
            Ok(ObservationValue::Coded { code: value.attr("code")?, display: value.opt_attr("displayName") })
        }
        "ST" => Ok(ObservationValue::Text(value.text().unwrap_or_default())),
        other => Err(value.at("@xsi:type").invalid(format!("unsupported value type {other:?}"))),
    }
}

/// A decimal as the XSD allows it: optional sign, digits, optional fraction. Rust's `f64` parser
/// alone would also take `NaN`, `inf` and `1e5`.
fn parse_decimal(text: &str) -> Option<f64> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let well_formed = !(whole.is_empty() && fraction.is_empty())
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit());
    if well_formed { text.parse().ok() } else { None }
}

/// `YYYYMMDD`, optionally followed by a time of day (`hhmm[ss]`) that we do not need.
fn parse_date(text: &str) -> Result<Date, String> {
    let reason = || format!("expected a date YYYYMMDD, found {text:?}");
    if text.len() < 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(reason());
    }
    let number = |range: std::ops::Range<usize>| text.get(range).and_then(|s| s.parse::<u16>().ok());
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(4..6), number(6..8)) else {
        return Err(reason());
    };
    let month = u8::try_from(month).ok().and_then(|m| Month::try_from(m).ok()).ok_or_else(reason)?;
    let day = u8::try_from(day).map_err(|_| reason())?;
    Date::from_calendar_date(i32::from(year), month, day).map_err(|e| format!("{}: {e}", reason()))
}

/// A node and the path that led to it, for error messages.
struct At<'a, 'input> {
    node: Node<'a, 'input>,
    path: String,
}

impl<'a, 'input> At<'a, 'input> {
    fn at(&self, step: &str) -> At<'a, 'input> {
        At { node: self.node, path: format!("{}/{step}", self.path) }
    }

    fn missing(&self, step: &str) -> CdaError {
        CdaError::Missing { path: format!("{}/{step}", self.path) }
    }

    fn invalid(&self, reason: String) -> CdaError {
        CdaError::Invalid { path: self.path.clone(), reason }
    }

    fn opt_child(&self, name: &str) -> Option<At<'a, 'input>> {
        self.node
            .children()
            .find(|n| {
                n.is_element() && n.tag_name().name() == name && n.tag_name().namespace() == Some(NS_HL7)
            })
            .map(|node| At { node, path: format!("{}/{name}", self.path) })
    }

    fn child(&self, name: &str) -> Result<At<'a, 'input>, CdaError> {
        self.opt_child(name).ok_or_else(|| self.missing(name))
    }

    /// All children called `name`, each path numbered from 1 as XPath does.
    fn children(&self, name: &str) -> Vec<At<'a, 'input>> {
        self.node
            .children()
            .filter(|n| {
                n.is_element() && n.tag_name().name() == name && n.tag_name().namespace() == Some(NS_HL7)
            })
            .enumerate()
            .map(|(i, node)| At { node, path: format!("{}/{name}[{}]", self.path, i + 1) })
            .collect()
    }

    fn opt_attr(&self, name: &str) -> Option<String> {
        self.node.attribute(name).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
    }

    fn attr(&self, name: &str) -> Result<String, CdaError> {
        self.opt_attr(name).ok_or_else(|| self.missing(&format!("@{name}")))
    }

    /// The element's text, descendants included, with surrounding whitespace trimmed.
    fn text(&self) -> Result<String, CdaError> {
        let text: String = self.node.descendants().filter(|n| n.is_text()).filter_map(|n| n.text()).collect();
        let text = text.trim();
        if text.is_empty() { Err(self.invalid("text is empty".to_owned())) } else { Ok(text.to_owned()) }
    }

    fn date(&self) -> Result<Date, CdaError> {
        let value = self.attr("value")?;
        parse_date(&value).map_err(|reason| self.at("@value").invalid(reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    use crate::checkup::fixtures::FIXTURE_2025;

    fn parsed(xml: &str) -> CheckupDocument {
        parse_str(xml).unwrap_or_else(|e| panic!("fixture should parse: {e}"))
    }

    fn error_of(xml: &str) -> CdaError {
        match parse_str(xml) {
            Ok(doc) => panic!("expected an error, parsed {doc:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn fixture_header_is_read_into_typed_fields() {
        let doc = parsed(FIXTURE_2025);

        assert_eq!(doc.document_id.root, "1.2.392.200119.6.102.0000000001");
        assert_eq!(doc.document_id.extension.as_deref(), Some("0000000001202504150001"));
        assert_eq!(doc.report_category, "10");
        assert_eq!(doc.insurer_number, "06123456");
        assert_eq!(doc.card_symbol.as_deref(), Some("ケンポ１"));
        assert_eq!(doc.card_number, "4321");
        assert_eq!(doc.branch.as_deref(), Some("00"));
        assert_eq!(doc.name, "ケンポ タロウ");
        assert_eq!(doc.sex, Sex::Male);
        assert_eq!(doc.birth_date, date!(1972 - 10 - 20));
        assert_eq!(doc.institution_number, "0000000001");
        assert_eq!(doc.institution_name, "医療法人社団けんぽ会 丸の内健診クリニック");
        assert_eq!(doc.program_code, "010");
        assert_eq!(doc.exam_date, date!(2025 - 04 - 15));
    }

    #[test]
    fn fixture_observations_keep_values_units_codes_and_texts() {
        let doc = parsed(FIXTURE_2025);

        assert_eq!(doc.observations.len(), 25);
        let waist = doc.find(&["9N016160100000001"]).unwrap_or_else(|| panic!("waist missing"));
        assert_eq!(
            waist.value,
            ObservationValue::Quantity { text: "90.0".into(), value: 90.0, unit: Some("cm".into()) }
        );
        assert_eq!(waist.name.as_deref(), Some("腹囲（実測）"));
        assert_eq!(waist.reference.as_deref(), Some("84.9以下"));
        assert_eq!(waist.interpretation.as_deref(), Some("H"));
        assert_eq!(waist.section, "01010");
        let smoking = doc.find(&["9N736000000000011"]).unwrap_or_else(|| panic!("smoking missing"));
        assert_eq!(smoking.coded(), Some("1"));
        let doctor = doc.find(&["9N511000000000049"]).unwrap_or_else(|| panic!("doctor missing"));
        assert!(matches!(&doctor.value, ObservationValue::Text(t) if t.starts_with("血圧・脂質")));
    }

    const MINIMAL: &str = r#"<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <id root="1.2.3" extension="X"/><code code="10"/>
  <recordTarget><patientRole>
    <id root="1.2.392.200119.6.101" extension="06123456"/>
    <id root="1.2.392.200119.6.205" extension="1"/>
    <patient><name>ヒフ ミヨ</name><administrativeGenderCode code="2"/><birthTime value="19800229"/></patient>
  </patientRole></recordTarget>
  <author><assignedAuthor><representedOrganization>
    <id root="1.2.392.200119.6.102" extension="0000000001"/><name>健診センター</name>
  </representedOrganization></assignedAuthor></author>
  <documentationOf><serviceEvent><code code="010"/><effectiveTime value="20250401"/></serviceEvent></documentationOf>
  <component><structuredBody><component><section><code code="01010"/>
    <entry><observation><code code="3D046000001906202"/>
      <entryRelationship typeCode="COMP"><observation><code code="9A751000000000001"/><value xsi:type="PQ" value="128" unit="mmHg"/></observation></entryRelationship>
      <entryRelationship typeCode="COMP"><observation><code code="3D046000001906202"/><value xsi:type="PQ" VALUE_ATTR unit="%"/></observation></entryRelationship>
    </observation></entry>
  </section></component></structuredBody></component>
</ClinicalDocument>"#;

    fn minimal(value: &str) -> String {
        MINIMAL.replace("VALUE_ATTR", value)
    }

    #[test]
    fn grouped_observations_are_flattened_and_optional_ids_may_be_absent() {
        let doc = parsed(&minimal(r#"value="5.40""#));

        assert_eq!(doc.sex, Sex::Female);
        assert_eq!(doc.birth_date, date!(1980 - 02 - 29));
        assert_eq!(doc.card_symbol, None);
        assert_eq!(doc.branch, None);
        let codes: Vec<&str> = doc.observations.iter().map(|o| o.code.as_str()).collect();
        assert_eq!(codes, ["9A751000000000001", "3D046000001906202"]);
        assert!(
            matches!(&doc.observations[1].value, ObservationValue::Quantity { text, .. } if text == "5.40")
        );
    }

    #[test]
    fn a_null_flavored_value_is_absent_not_an_error() {
        let doc = parsed(&minimal(r#"nullFlavor="NI""#).replace(r#"xsi:type="PQ" nullFlavor"#, "nullFlavor"));

        assert_eq!(doc.observations[1].value, ObservationValue::Absent { null_flavor: "NI".into() });
    }

    #[test]
    fn a_non_numeric_quantity_names_the_item_path() {
        for bad in ["abc", "NaN", "inf", "1e3", "", "."] {
            let e = error_of(&minimal(&format!(r#"value="{bad}""#)));

            let message = e.to_string();
            assert!(
                message.starts_with("/ClinicalDocument/component/structuredBody/component[1]/section/entry[1]/observation[1][code=3D046000001906202]/entryRelationship[2]/observation[1][code=3D046000001906202]/value"),
                "{message}"
            );
            assert!(e.path().ends_with("/value/@value") || bad.is_empty(), "{bad}: {message}");
        }
    }

    #[test]
    fn not_xml_is_reported_without_panicking() {
        let e = error_of("this is not <xml");

        assert!(matches!(e, CdaError::NotXml { .. }));
        assert!(e.to_string().starts_with("/: not a well-formed XML document"));
        assert!(matches!(parse(b"\xff\xfe<a/>"), Err(CdaError::NotXml { .. })));
    }

    #[test]
    fn a_dtd_is_refused() {
        let e = error_of(r#"<!DOCTYPE lol [<!ENTITY a "aaaa">]><ClinicalDocument xmlns="urn:hl7-org:v3"/>"#);

        assert!(matches!(e, CdaError::NotXml { .. }), "{e}");
    }

    #[test]
    fn a_root_in_another_namespace_is_refused() {
        let e = error_of(r#"<ClinicalDocument xmlns="urn:example"/>"#);

        assert_eq!(
            e.to_string(),
            "/ClinicalDocument: expected ClinicalDocument in namespace urn:hl7-org:v3, found {urn:example}ClinicalDocument"
        );
        assert!(matches!(error_of("<Other/>"), CdaError::WrongRoot { .. }));
    }

    #[test]
    fn a_missing_birth_time_names_its_path() {
        let e = error_of(&minimal(r#"value="1""#).replace(r#"<birthTime value="19800229"/>"#, ""));

        assert_eq!(
            e.to_string(),
            "/ClinicalDocument/recordTarget/patientRole/patient/birthTime: required element or attribute is missing"
        );
    }

    #[test]
    fn an_impossible_date_names_its_path_and_value() {
        for bad in ["19800230", "1980022", "198O0229", "19801301"] {
            let e = error_of(&minimal(r#"value="1""#).replace("19800229", bad));

            assert_eq!(
                e.path(),
                "/ClinicalDocument/recordTarget/patientRole/patient/birthTime/@value",
                "{bad}"
            );
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn an_unknown_sex_code_and_a_short_item_code_are_invalid() {
        let e =
            error_of(&minimal(r#"value="1""#).replace(r#"code="2"/><birthTime"#, r#"code="9"/><birthTime"#));
        assert_eq!(
            e.path(),
            "/ClinicalDocument/recordTarget/patientRole/patient/administrativeGenderCode/@code"
        );

        let e = error_of(&minimal(r#"value="1""#).replace("9A751000000000001", "9A751"));
        assert!(e.path().ends_with("/code/@code"), "{e}");
    }

    #[test]
    fn a_missing_insurer_number_is_reported() {
        let e = error_of(&minimal(r#"value="1""#).replace("1.2.392.200119.6.101", "9.9"));

        assert_eq!(e.path(), "/ClinicalDocument/recordTarget/patientRole/id[@root='1.2.392.200119.6.101']");
    }
}
