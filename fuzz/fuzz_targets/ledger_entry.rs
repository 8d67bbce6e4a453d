//! Public ledger entries and entry bundles.
//! Properties: never panics; an entry accepted by `from_canonical` re-encodes
//! to exactly its bytes and has a known kind; any JSON that deserialises into
//! an entry with a known kind encodes canonically to bytes `from_canonical`
//! accepts, giving the same entry back; a decoded bundle re-encodes to exactly
//! its bytes, and an encoded bundle decodes to the same entries.
#![no_main]

use boai_ledger::entry::KINDS;
use boai_ledger::tiles::{decode_bundle, encode_bundle};
use boai_ledger::LedgerEntry;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = LedgerEntry::from_canonical(data) {
        assert!(KINDS.contains(&entry.kind.as_str()));
        assert_eq!(entry.to_canonical().expect("re-encodes"), data);
    }
    if let Ok(entry) = serde_json::from_slice::<LedgerEntry>(data) {
        if let Ok(canonical) = entry.to_canonical() {
            let back = LedgerEntry::from_canonical(&canonical)
                .unwrap_or_else(|e| panic!("canonical form refused: {e}: {}", String::from_utf8_lossy(&canonical)));
            assert_eq!(back, entry);
        }
    }
    if let Ok(entries) = decode_bundle(data) {
        let again = encode_bundle(entries.iter().map(Vec::as_slice)).expect("entries fit");
        assert_eq!(again, data);
    }
    // The input's lines as entries of a bundle.
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    let bundle = encode_bundle(lines.iter().copied()).expect("lines are short");
    let decoded = decode_bundle(&bundle).expect("own bundle decodes");
    assert_eq!(decoded.len(), lines.len());
    assert!(decoded.iter().zip(&lines).all(|(a, b)| a.as_slice() == *b));
});
