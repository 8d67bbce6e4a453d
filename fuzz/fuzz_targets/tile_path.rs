//! C2SP tile paths (`tile/L/N[.p/W]`, `tile/entries/N[.p/W]`).
//! Properties: never panics; a parsed path formats back to exactly the same
//! string (one spelling per tile) and parses again to the same tile; its width
//! is 1..=256; a tile made from the input's numbers formats to a path that
//! parses back to it.
#![no_main]

use boai_ledger::TilePath;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(tile) = TilePath::parse(text) {
            assert_eq!(tile.path(), text);
            assert_eq!(TilePath::parse(&tile.path()).ok(), Some(tile));
            assert!((1..=256).contains(&tile.width()));
            let (start, end) = tile.range();
            assert!(start <= end);
            let _ = tile.within(u64::MAX);
        }
    }
    if data.len() >= 11 {
        let level = data[0] % 8;
        let index = u64::from_le_bytes(data[1..9].try_into().expect("8 bytes")) >> (data[9] % 64);
        let width = u32::from(data[10]) + 1;
        for tile in [TilePath::Hashes { level, index, width }, TilePath::Entries { index, width }] {
            let path = tile.path();
            assert_eq!(TilePath::parse(&path).ok(), Some(tile), "{path}");
        }
    }
});
