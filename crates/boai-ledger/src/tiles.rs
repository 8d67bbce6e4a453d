//! Tile paths and entry bundles, per C2SP tlog-tiles with height 8.
//! `tlog_tiles` writes Go sumdb paths (`tile/8/L/N`, `tile/8/data/N`); we map
//! them to C2SP (`tile/L/N`, `tile/entries/N`) and parse through the crate so
//! exactly one spelling of each tile is accepted (`x001/234`, `.p/W`).

use crate::{LedgerError, NodeId, TILE_HEIGHT, TILE_WIDTH};

/// A tile named by a C2SP path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TilePath {
    /// Hashes at tree level `8 * level`, nodes `index * 256 ..` (`width` of them).
    Hashes { level: u8, index: u64, width: u32 },
    /// Entries `index * 256 ..` (`width` of them), each prefixed by its u16 length.
    Entries { index: u64, width: u32 },
}

impl TilePath {
    /// Parses the part after `/ledger/`, e.g. `tile/0/x001/234.p/5` or `tile/entries/000`.
    pub fn parse(path: &str) -> Result<TilePath, LedgerError> {
        let bad = || LedgerError::Malformed(format!("bad tile path {path}"));
        let rest = path.strip_prefix("tile/").ok_or_else(bad)?;
        let go_path = match rest.strip_prefix("entries/") {
            Some(n) => format!("tile/{TILE_HEIGHT}/data/{n}"),
            None => {
                // A C2SP level is a plain number; refuse Go's `8/…` or `data/…` forms.
                let (level, _) = rest.split_once('/').ok_or_else(bad)?;
                if level.is_empty() || !level.bytes().all(|b| b.is_ascii_digit()) || level.len() > 2 {
                    return Err(bad());
                }
                format!("tile/{TILE_HEIGHT}/{rest}")
            }
        };
        // `Tile::from_path` panics (through `Tile::new`) on a width of 0 or a
        // level of 64 or more; refuse those before calling it.
        if let Some((_, width)) = go_path.rsplit_once(".p/") {
            match width.parse::<u32>() {
                Ok(w) if (1..TILE_WIDTH as u32).contains(&w) => {}
                _ => return Err(bad()),
            }
        }
        if let Some(level) = go_path.split('/').nth(2).and_then(|l| l.parse::<u32>().ok()) {
            if level >= 64 {
                return Err(bad());
            }
        }
        let tile = tlog_tiles::Tile::from_path(&go_path).map_err(|_| bad())?;
        Ok(if tile.is_data() {
            TilePath::Entries {
                index: tile.level_index(),
                width: tile.width(),
            }
        } else {
            TilePath::Hashes {
                level: tile.level(),
                index: tile.level_index(),
                width: tile.width(),
            }
        })
    }

    /// The C2SP path (without the `/ledger/` prefix).
    pub fn path(&self) -> String {
        let (level, width) = match *self {
            TilePath::Hashes { level, width, .. } => (level, width),
            TilePath::Entries { width, .. } => (0, width),
        };
        if level >= 64 || width == 0 || u64::from(width) > TILE_WIDTH {
            return String::from("tile/invalid");
        }
        let tile = match *self {
            TilePath::Hashes { level, index, width } => tlog_tiles::Tile::new(TILE_HEIGHT, level, index, width, false),
            TilePath::Entries { index, width } => tlog_tiles::Tile::new(TILE_HEIGHT, 0, index, width, true),
        };
        let go = tile.path();
        let prefix = format!("tile/{TILE_HEIGHT}/");
        let rest = go.strip_prefix(&prefix).unwrap_or(&go);
        match rest.strip_prefix("data/") {
            Some(n) => format!("tile/entries/{n}"),
            None => format!("tile/{rest}"),
        }
    }

    pub fn width(&self) -> u32 {
        match *self {
            TilePath::Hashes { width, .. } | TilePath::Entries { width, .. } => width,
        }
    }

    pub fn is_full(&self) -> bool {
        u64::from(self.width()) == TILE_WIDTH
    }

    /// The first and one-past-last node (for hashes: at level `8 * level`) the tile covers.
    pub fn range(&self) -> (u64, u64) {
        let index = match *self {
            TilePath::Hashes { index, .. } | TilePath::Entries { index, .. } => index,
        };
        let start = index.saturating_mul(TILE_WIDTH);
        (start, start.saturating_add(u64::from(self.width())))
    }

    /// The tree level whose nodes a hash tile holds (0 for entries).
    pub fn tree_level(&self) -> u8 {
        match *self {
            TilePath::Hashes { level, .. } => level.saturating_mul(TILE_HEIGHT),
            TilePath::Entries { .. } => 0,
        }
    }

    /// Whether a tree of `size` leaves holds everything this tile names.
    pub fn within(&self, size: u64) -> bool {
        let level = self.tree_level();
        if u32::from(level) >= u64::BITS {
            return false;
        }
        let nodes_at_level = size >> level;
        self.range().1 <= nodes_at_level
    }

    /// The nodes a hash tile lists, in order.
    pub fn nodes(&self) -> Vec<NodeId> {
        let (start, end) = self.range();
        let level = self.tree_level();
        (start..end).map(|index| NodeId { level, index }).collect()
    }

    /// Every tile (full or the final partial one) a tree of `size` leaves has.
    pub fn all_for(size: u64) -> Vec<TilePath> {
        let mut out = Vec::new();
        let mut level = 0u8;
        loop {
            let tree_level = level * TILE_HEIGHT;
            let nodes = if u32::from(tree_level) >= u64::BITS {
                0
            } else {
                size >> tree_level
            };
            if nodes == 0 {
                break;
            }
            for index in 0..nodes.div_ceil(TILE_WIDTH) {
                let width = (nodes - index * TILE_WIDTH).min(TILE_WIDTH) as u32;
                out.push(TilePath::Hashes { level, index, width });
                if level == 0 {
                    out.push(TilePath::Entries { index, width });
                }
            }
            level += 1;
        }
        out
    }
}

/// Encodes entries as a bundle: each one preceded by its big-endian u16 length.
pub fn encode_bundle<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<u8>, LedgerError> {
    let mut out = Vec::new();
    for e in entries {
        let len = u16::try_from(e.len()).map_err(|_| LedgerError::Malformed("entry longer than 65535 bytes".into()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Splits a bundle back into entries.
pub fn decode_bundle(bundle: &[u8]) -> Result<Vec<Vec<u8>>, LedgerError> {
    let mut out = Vec::new();
    let mut rest = bundle;
    while !rest.is_empty() {
        if rest.len() < 2 {
            return Err(LedgerError::Malformed("bundle ends inside a length".into()));
        }
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        if rest.len() < 2 + len {
            return Err(LedgerError::Malformed("bundle ends inside an entry".into()));
        }
        out.push(rest[2..2 + len].to_vec());
        rest = &rest[2 + len..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_c2sp() {
        let t = TilePath::Hashes {
            level: 0,
            index: 1_234_067,
            width: 256,
        };
        assert_eq!(t.path(), "tile/0/x001/x234/067");
        assert_eq!(TilePath::parse("tile/0/x001/x234/067").unwrap(), t);
        let p = TilePath::Entries { index: 0, width: 5 };
        assert_eq!(p.path(), "tile/entries/000.p/5");
        assert_eq!(TilePath::parse("tile/entries/000.p/5").unwrap(), p);
        assert_eq!(
            TilePath::parse("tile/1/002").unwrap(),
            TilePath::Hashes {
                level: 1,
                index: 2,
                width: 256
            }
        );
    }

    #[test]
    fn malformed_paths_are_refused() {
        for bad in [
            "tile/8/0/000",
            "tile/data/000",
            "tile/0/1",
            "tile/0/001/",
            "tile/0/x000/001",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/-1",
            "tile/entries/1234",
            "tile/0/x999/x999/x999/x999/x999/x999/x999/999",
            "tile/-1/000",
            "tile//000",
            "tiles/0/000",
            "tile/0/abc",
            "tile/64/000",
            "tile/99/000.p/3",
            "tile/entries/000.p/0",
            "tile/0/000.p/",
        ] {
            assert!(TilePath::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tiles_of_a_tree() {
        let all = TilePath::all_for(600);
        assert!(all.contains(&TilePath::Hashes {
            level: 0,
            index: 2,
            width: 88
        }));
        assert!(all.contains(&TilePath::Entries { index: 1, width: 256 }));
        assert!(all.contains(&TilePath::Hashes {
            level: 1,
            index: 0,
            width: 2
        }));
        assert_eq!(all.len(), 7);
        assert!(TilePath::Hashes {
            level: 1,
            index: 0,
            width: 2
        }
        .within(600));
        assert!(!TilePath::Hashes {
            level: 1,
            index: 0,
            width: 3
        }
        .within(600));
        assert!(!TilePath::Hashes {
            level: 8,
            index: 0,
            width: 1
        }
        .within(u64::MAX));
    }

    proptest::proptest! {
        /// Any request path parses or is refused; none panics, and whatever
        /// parses prints back to exactly the same path.
        #[test]
        fn parsing_never_panics(rest in "[0-9x./a-z-]{0,40}") {
            let path = format!("tile/{rest}");
            if let Ok(tile) = TilePath::parse(&path) {
                proptest::prop_assert_eq!(tile.path(), path);
            }
        }

        #[test]
        fn decoding_bundles_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let _ = decode_bundle(&bytes);
        }
    }

    #[test]
    fn bundles_round_trip_and_refuse_truncation() {
        let entries: Vec<&[u8]> = vec![b"a", b"", "红十字".as_bytes()];
        let bundle = encode_bundle(entries.clone()).unwrap();
        assert_eq!(&bundle[..3], &[0, 1, b'a']);
        let back = decode_bundle(&bundle).unwrap();
        assert_eq!(back, entries.iter().map(|e| e.to_vec()).collect::<Vec<_>>());
        assert!(decode_bundle(&bundle[..bundle.len() - 1]).is_err());
        assert!(decode_bundle(&[0]).is_err());
    }
}
