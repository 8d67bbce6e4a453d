//! Ledger entries: what the public may see of one journal entry, as canonical
//! JSON (RFC 8785). Money is integer fen; people appear only as a public name
//! or `匿名`, a salted commitment, or a pseudonym. Field order in the bytes is
//! the canonical (sorted) order, whatever the struct says. Integers must be
//! within ±(2^53 − 1) (I-JSON, which RFC 8785 assumes): beyond that the
//! canonical form writes them as doubles, i.e. a different number (found by
//! fuzz/fuzz_targets/ledger_entry.rs), so such an entry is refused.

use crate::LedgerError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The largest integer RFC 8785 (I-JSON) writes exactly: 2^53 − 1.
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// The format version written in every entry's `v`.
pub const ENTRY_VERSION: u32 = 1;

/// Entry kinds the ledger knows (the journal's kinds).
pub const KINDS: [&str; 8] = [
    "gift",
    "goods_in",
    "allocation",
    "disbursement",
    "goods_out",
    "transfer",
    "management_cost",
    "reversal",
];

/// One public ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerEntry {
    /// Format version ([`ENTRY_VERSION`]).
    pub v: u32,
    /// One of [`KINDS`].
    pub kind: String,
    /// The journal entry's amount, in fen (always positive).
    pub amount_fen: i64,
    /// The fund or project the entry is about (for moves: where money went).
    pub project_id: String,
    /// For allocations, transfers and management costs: where the money came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_project_id: Option<String>,
    /// The journal entry this mirrors.
    pub journal_id: String,
    /// The journal entry's sequence number (posting order).
    pub journal_seq: i64,
    /// When the entry was posted, RFC 3339 UTC, whole seconds.
    pub at: String,
    /// Gifts: the donor's public name, or `匿名`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub donor: Option<String>,
    /// Gifts: SHA-256 commitment the certificate holder can open (see [`commitment`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commitment: Option<String>,
    /// Money or goods out: the recipient's pseudonym.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
    /// Reversals: the journal id of the entry reversed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverses: Option<String>,
    /// Reversals: the kind of the entry reversed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverses_kind: Option<String>,
}

impl LedgerEntry {
    /// The canonical bytes that are hashed into the log.
    pub fn to_canonical(&self) -> Result<Vec<u8>, LedgerError> {
        if !KINDS.contains(&self.kind.as_str()) {
            return Err(LedgerError::Malformed(format!("unknown kind {}", self.kind)));
        }
        for (name, value) in [("amount_fen", self.amount_fen), ("journal_seq", self.journal_seq)] {
            if !(-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&value) {
                return Err(LedgerError::Malformed(format!(
                    "{name} {value} is outside ±(2^53 − 1), which canonical JSON cannot write exactly"
                )));
            }
        }
        // Straight from a view whose fields are in the canonical order: byte
        // for byte what an RFC 8785 canonicaliser writes for these (ASCII
        // keys, safe integers, strings escaped alike), without building a
        // tree of values and sorting it first; the tests hold it to one.
        serde_json::to_vec(&CanonicalView::of(self)).map_err(|e| LedgerError::Malformed(e.to_string()))
    }

    /// Parses logged bytes, insisting they are exactly the canonical form.
    pub fn from_canonical(bytes: &[u8]) -> Result<LedgerEntry, LedgerError> {
        let entry: LedgerEntry =
            serde_json::from_slice(bytes).map_err(|e| LedgerError::Malformed(format!("entry: {e}")))?;
        if entry.to_canonical()? != bytes {
            return Err(LedgerError::Malformed("entry is not in canonical form".into()));
        }
        Ok(entry)
    }
}

/// A [`LedgerEntry`] with its fields in RFC 8785 order: keys sorted (all
/// ASCII, so by UTF-16 code units is by bytes), absent options left out.
#[derive(Serialize)]
struct CanonicalView<'a> {
    amount_fen: i64,
    at: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    commitment: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    donor: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    from_project_id: Option<&'a str>,
    journal_id: &'a str,
    journal_seq: i64,
    kind: &'a str,
    project_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    recipient: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reverses: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reverses_kind: Option<&'a str>,
    v: u32,
}

impl<'a> CanonicalView<'a> {
    fn of(e: &'a LedgerEntry) -> CanonicalView<'a> {
        // Destructured, so that a field added to the entry but not here
        // does not compile.
        let LedgerEntry {
            v,
            kind,
            amount_fen,
            project_id,
            from_project_id,
            journal_id,
            journal_seq,
            at,
            donor,
            commitment,
            recipient,
            reverses,
            reverses_kind,
        } = e;
        CanonicalView {
            amount_fen: *amount_fen,
            at,
            commitment: commitment.as_deref(),
            donor: donor.as_deref(),
            from_project_id: from_project_id.as_deref(),
            journal_id,
            journal_seq: *journal_seq,
            kind,
            project_id,
            recipient: recipient.as_deref(),
            reverses: reverses.as_deref(),
            reverses_kind: reverses_kind.as_deref(),
            v: *v,
        }
    }
}

/// The salted commitment to a gift's holder: lowercase hex of
/// SHA-256("boai-commitment-v1" ‖ 0x00 ‖ certificate_no ‖ 0x00 ‖ donor_name ‖ 0x00 ‖ salt),
/// `donor_name` empty for an anonymous gift, `salt` the 32 hex characters the
/// certificate holder is shown. Without the salt nobody can test guesses.
pub fn commitment(certificate_no: &str, donor_name: &str, salt: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"boai-commitment-v1\0");
    h.update(certificate_no.as_bytes());
    h.update([0]);
    h.update(donor_name.as_bytes());
    h.update([0]);
    h.update(salt.as_bytes());
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> LedgerEntry {
        LedgerEntry {
            v: ENTRY_VERSION,
            kind: "gift".into(),
            amount_fen: 12_345,
            project_id: "p1".into(),
            from_project_id: None,
            journal_id: "j1".into(),
            journal_seq: 7,
            at: "2026-01-02T03:04:05Z".into(),
            donor: Some("张**".into()),
            commitment: Some(commitment("JN-2026-0000001", "张三", "00ff")),
            recipient: None,
            reverses: None,
            reverses_kind: None,
        }
    }

    #[test]
    fn canonical_form_sorts_keys_and_keeps_utf8() {
        let bytes = sample().to_canonical().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with(r#"{"amount_fen":12345,"at":"2026-01-02T03:04:05Z","commitment":""#));
        assert!(text.contains(r#""donor":"张**""#));
        assert!(!text.contains(' '));
        assert_eq!(LedgerEntry::from_canonical(&bytes).unwrap(), sample());
    }

    #[test]
    fn non_canonical_bytes_are_refused() {
        let pretty = serde_json::to_vec_pretty(&sample()).unwrap();
        assert!(LedgerEntry::from_canonical(&pretty).is_err());
        let mut unknown = sample().to_canonical().unwrap();
        unknown.pop();
        unknown.extend_from_slice(br#","zz":1}"#);
        assert!(LedgerEntry::from_canonical(&unknown).is_err());
    }

    #[test]
    fn integers_beyond_2_53_are_refused_not_rounded() {
        // Found by the ledger_entry fuzz target: the canonical form wrote
        // 1255555555555553456 as 1255555555555553500, a different amount.
        let fuzzed = br#"{"amount_fen":1255555555555553456,"at":"2026-01-02T03:04:05Z","journal_id":"j","journal_seq":0,"kind":"gift","project_id":"p","v":1}"#;
        let entry: LedgerEntry = serde_json::from_slice(fuzzed).unwrap();
        assert!(entry.to_canonical().is_err());
        assert!(LedgerEntry::from_canonical(fuzzed).is_err());
        let rounded = br#"{"amount_fen":1255555555555553500,"at":"2026-01-02T03:04:05Z","journal_id":"j","journal_seq":0,"kind":"gift","project_id":"p","v":1}"#;
        assert!(LedgerEntry::from_canonical(rounded).is_err());
        for (amount, seq, ok) in [
            (MAX_SAFE_INTEGER, 1, true),
            (-MAX_SAFE_INTEGER, 1, true),
            (MAX_SAFE_INTEGER + 1, 1, false),
            (1, MAX_SAFE_INTEGER + 1, false),
            (i64::MIN, 1, false),
        ] {
            let mut e = sample();
            e.amount_fen = amount;
            e.journal_seq = seq;
            let canonical = e.to_canonical();
            assert_eq!(canonical.is_ok(), ok, "{amount} {seq}");
            if let Ok(bytes) = canonical {
                assert_eq!(LedgerEntry::from_canonical(&bytes).unwrap(), e);
            }
        }
    }

    fn text() -> impl Strategy<Value = String> {
        // Control characters, quotes, backslashes, DEL, CJK and astral
        // characters: everything whose escaping could differ.
        proptest::collection::vec(
            prop_oneof![
                (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap_or('?')),
                Just('"'),
                Just('\\'),
                Just('/'),
                Just('\u{7f}'),
                Just('\u{2028}'),
                Just('张'),
                Just('😀'),
                any::<char>(),
            ],
            0..12,
        )
        .prop_map(|chars| chars.into_iter().collect())
    }

    proptest! {
        /// The direct canonical form is byte for byte what an RFC 8785
        /// canonicaliser writes.
        #[test]
        fn canonical_form_is_what_an_rfc_8785_canonicaliser_writes(
            kind in proptest::sample::select(KINDS.to_vec()),
            amount_fen in -MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER,
            journal_seq in -MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER,
            v in any::<u32>(),
            strings in proptest::collection::vec(text(), 4),
            options in proptest::collection::vec(proptest::option::of(text()), 6),
        ) {
            let e = LedgerEntry {
                v,
                kind: kind.to_owned(),
                amount_fen,
                project_id: strings[0].clone(),
                from_project_id: options[0].clone(),
                journal_id: strings[1].clone(),
                journal_seq,
                at: strings[2].clone(),
                donor: options[1].clone(),
                commitment: options[2].clone(),
                recipient: options[3].clone(),
                reverses: options[4].clone(),
                reverses_kind: options[5].clone(),
            };
            let direct = e.to_canonical().unwrap();
            prop_assert_eq!(&direct, &serde_json_canonicalizer::to_vec(&e).unwrap());
            prop_assert_eq!(LedgerEntry::from_canonical(&direct).unwrap(), e);
        }
    }

    #[test]
    fn unknown_kind_is_refused() {
        let mut e = sample();
        e.kind = "theft".into();
        assert!(e.to_canonical().is_err());
    }

    #[test]
    fn commitment_depends_on_every_part() {
        let base = commitment("C1", "张三", "aa");
        assert_eq!(base.len(), 64);
        assert_ne!(base, commitment("C2", "张三", "aa"));
        assert_ne!(base, commitment("C1", "李四", "aa"));
        assert_ne!(base, commitment("C1", "张三", "ab"));
        // The separators keep fields apart.
        assert_ne!(commitment("C1", "ab", "c"), commitment("C1", "a", "bc"));
    }
}
