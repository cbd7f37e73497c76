//! Keyring files (`--keyring FILE`): the trusted keys with their roles, the per-role
//! thresholds and the revoked keys, as JSON, for `fetch`, `serve` and `inspect`:
//!
//! ```json
//! {"keys": [{"public": "64 hex digits", "role": "business"},
//!           {"public": "64 hex digits", "role": "technical"}],
//!  "threshold": {"business": 1, "technical": 1},
//!  "revoked": ["16 hex digits of a key id, or 64 of a public key"]}
//! ```
//!
//! Without `threshold` (or with an empty one) the keyring is legacy: any one trusted key
//! suffices and roles may be left out. Every problem names the file and the JSON path (and,
//! for syntax, line and column); a threshold that no set of unrevoked keys can meet is refused
//! here rather than on every device. The rules are the delivery crate's ([`Keyring`]).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use trackgate_delivery::Keyring;

use crate::files::read_capped;
use crate::report::inputs::parse_json;
use crate::Failure;

/// Largest keyring file read, in bytes (16 keys take about 2 KB).
pub const KEYRING_CAP: usize = 64 << 10;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyringDocument {
    keys: Vec<KeyDocument>,
    #[serde(default, deserialize_with = "thresholds_once_each")]
    threshold: BTreeMap<String, u32>,
    #[serde(default)]
    revoked: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyDocument {
    public: String,
    #[serde(default)]
    role: Option<String>,
}

/// The `threshold` object, refusing a role named twice: JSON readers differ on which of two
/// equal keys wins, so a keyring that says two things about one role is an error, not a guess.
fn thresholds_once_each<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<BTreeMap<String, u32>, D::Error> {
    struct Thresholds;
    impl<'de> serde::de::Visitor<'de> for Thresholds {
        type Value = BTreeMap<String, u32>;
        fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
            formatter.write_str("an object of role names to signature counts")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut thresholds = BTreeMap::new();
            while let Some((role, count)) = map.next_entry::<String, u32>()? {
                if thresholds.insert(role.clone(), count).is_some() {
                    return Err(serde::de::Error::custom(format!("role `{role}` has two thresholds")));
                }
            }
            Ok(thresholds)
        }
    }
    deserializer.deserialize_map(Thresholds)
}

/// Reads and checks a keyring file.
pub fn read(path: &Path) -> Result<Keyring, Failure> {
    let bytes = read_capped(path, KEYRING_CAP, "keyring file")?;
    let text = String::from_utf8(bytes).map_err(|_| {
        Failure::error(format!("{}: a keyring file is JSON text; this one is not UTF-8", path.display()))
    })?;
    let document: KeyringDocument = parse_json(path, &text)?;
    build(&document)
        .map_err(|(json_path, problem)| Failure::error(format!("{}: {json_path}: {problem}", path.display())))
}

/// The keyring a document describes, or the JSON path and problem of its first error.
fn build(document: &KeyringDocument) -> Result<Keyring, (String, String)> {
    let mut keyring = Keyring::new();
    for (index, key) in document.keys.iter().enumerate() {
        let added = match &key.role {
            Some(role) => keyring.add_hex_with_role(&key.public, role),
            None => keyring.add_hex(&key.public),
        };
        added.map_err(|error| {
            let field = if matches!(error, trackgate_delivery::KeyError::BadRole(_)) { "role" } else { "public" };
            (format!("$.keys[{index}].{field}"), error.to_string())
        })?;
    }
    for (index, revoked) in document.revoked.iter().enumerate() {
        keyring.revoke_hex(revoked).map_err(|error| (format!("$.revoked[{index}]"), error.to_string()))?;
    }
    for (role, count) in &document.threshold {
        keyring.require(role, *count).map_err(|error| (format!("$.threshold.{role}"), error.to_string()))?;
    }
    if let Err(error) = keyring.check() {
        let place = match &error {
            trackgate_delivery::KeyError::Unreachable { role, .. } => format!("$.threshold.{role}"),
            trackgate_delivery::KeyError::NoRole(id) => {
                let index = keyring.ids().position(|known| known == *id).unwrap_or(0);
                format!("$.keys[{index}].role")
            }
            _ => "$".to_owned(),
        };
        return Err((place, error.to_string()));
    }
    if keyring.is_empty() {
        return Err(("$.keys".into(), "no unrevoked key, so no plan could ever be verified".into()));
    }
    Ok(keyring)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(seed: u8) -> String {
        let key = trackgate_delivery::SigningKey::from_bytes(&[seed; 32]);
        trackgate_delivery::envelope::to_hex(key.verifying_key().as_bytes())
    }

    fn keyring(json: &str) -> Result<Keyring, (String, String)> {
        build(&serde_json::from_str(json).expect("test JSON parses"))
    }

    #[test]
    fn a_two_role_keyring_reads_and_a_legacy_one_needs_no_roles() {
        let json = format!(
            r#"{{"keys": [{{"public": "{}", "role": "business"}}, {{"public": "{}", "role": "technical"}}],
                "threshold": {{"business": 1, "technical": 1}}}}"#,
            public(1),
            public(2)
        );
        let keyring = keyring(&json).expect("reads");
        assert_eq!(keyring.thresholds().collect::<Vec<_>>(), [("business", 1), ("technical", 1)]);
        let legacy = super::tests::keyring(&format!(r#"{{"keys": [{{"public": "{}"}}]}}"#, public(1))).expect("reads");
        assert!(legacy.is_legacy());
    }

    #[test]
    fn problems_name_their_json_path() {
        let two = |first: &str, rest: &str| {
            format!(r#"{{"keys": [{{"public": "{}", "role": "business"}}, {first}]{rest}}}"#, public(1))
        };
        let place = |json: String| keyring(&json).err().map(|(place, _)| place);
        assert_eq!(place(two(r#"{"public": "abc"}"#, "")), Some("$.keys[1].public".into()));
        assert_eq!(
            place(two(&format!(r#"{{"public": "{}", "role": "Tech"}}"#, public(2)), "")),
            Some("$.keys[1].role".into())
        );
        let technical = format!(r#"{{"public": "{}", "role": "technical"}}"#, public(2));
        assert_eq!(place(two(&technical, r#", "threshold": {"technical": 2}"#)), Some("$.threshold.technical".into()));
        assert_eq!(place(two(&technical, r#", "threshold": {"legal": 0}"#)), Some("$.threshold.legal".into()));
        assert_eq!(place(two(&technical, r#", "revoked": ["12"]"#)), Some("$.revoked[0]".into()));
        let unroled = format!(r#"{{"public": "{}"}}"#, public(2));
        assert_eq!(place(two(&unroled, r#", "threshold": {"business": 1}"#)), Some("$.keys[1].role".into()));
        let revoked_all = format!(r#", "threshold": {{"business": 1}}, "revoked": ["{}"]"#, public(1));
        assert_eq!(place(two(&technical, &revoked_all)), Some("$.threshold.business".into()));
    }

    #[test]
    fn a_role_with_two_thresholds_is_refused_with_its_place() {
        let path = std::env::temp_dir().join(format!("trackgate-keyring-twice-{}.json", std::process::id()));
        let json = format!(
            "{{\"keys\": [{{\"public\": \"{}\", \"role\": \"business\"}}],\n \"threshold\": {{\"business\": 1, \"business\": 2}}}}",
            public(1)
        );
        std::fs::write(&path, json).unwrap();
        let message = read(&path).expect_err("refused").message;
        std::fs::remove_file(&path).unwrap();
        assert!(message.contains("role `business` has two thresholds"), "{message}");
        assert!(message.contains(":2:"), "names the line: {message}");
    }
}
