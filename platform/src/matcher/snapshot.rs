//! The saved matcher (`matcher.snapshot` beside the list's SQLite file), keyed to
//! the sync position, so a restart loads it in one read instead of rebuilding the
//! index from SQLite.
//!
//! ```text
//! magic "TKMATCH\0" | version u32 | cursor i64 | applied i64 | items u64
//! per item: item_id i64 | kind u8 (0 image, 1 video) | in_index u8
//!           | cut edges u8 (bit per edge code: the edge cuts in the index)
//!           | md5 16 | sha256 32 | frame keys u32 | frame key u64 × frame keys
//! checksum u64 of everything above (FNV-1a)
//! index: the PDQ index's own saved form (checksummed by itself)
//! ```
//!
//! Little-endian. Every length is checked before it is used, so a damaged or
//! foreign file is a reason to rebuild, never a panic. Reasons name no path.
//! Version 2 added the cut edges (ADR 0410); a version-1 file is rebuilt.

use std::io::Write;
use std::path::Path;

use takedown_protocol::ItemKind;

use super::{ItemInfo, Matcher, Position, cut_edges_of, push_id};
use crate::index::PdqIndex;

const MAGIC: &[u8; 8] = b"TKMATCH\0";
const VERSION: u32 = 2;
/// Bytes of an item without frame keys.
const ITEM_BYTES: usize = 8 + 1 + 1 + 1 + 16 + 32 + 4;

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The saved form of `m`, or `None` when its sync position is unknown.
pub(super) fn encode(m: &Matcher) -> Option<Vec<u8>> {
    let pos = m.position?;
    let mut out = Vec::with_capacity(36 + m.items.len() * (ITEM_BYTES + 2) + m.index.len() * 80);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&pos.cursor.to_le_bytes());
    out.extend_from_slice(&pos.applied.to_le_bytes());
    out.extend_from_slice(&(m.items.len() as u64).to_le_bytes());
    for (id, info) in &m.items {
        out.extend_from_slice(&id.to_le_bytes());
        out.push(match info.kind {
            ItemKind::Image => 0,
            ItemKind::Video => 1,
        });
        out.push(u8::from(info.in_index));
        out.push(info.cut_edges);
        out.extend_from_slice(&info.md5);
        out.extend_from_slice(&info.sha256);
        out.extend_from_slice(&(info.frame_keys.len() as u32).to_le_bytes());
        for k in &info.frame_keys {
            out.extend_from_slice(&k.to_le_bytes());
        }
    }
    let sum = fnv1a(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    // Writing into a Vec cannot fail.
    m.index.save_to(&mut out).ok()?;
    Some(out)
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, renames it over
/// `path` and syncs the directory.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("snapshot.tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| "saved matcher is truncated".to_string())?;
        let s = &self.buf[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn i64(&mut self) -> Result<i64, String> {
        Ok(i64::from_le_bytes(self.array()?))
    }
}

/// Reads a saved matcher (one read of the file). The error is a reason to
/// rebuild, in words without the path.
pub(super) fn load(path: &Path) -> Result<Matcher, String> {
    let buf = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err("no saved matcher".into());
        }
        Err(e) => return Err(format!("saved matcher unreadable: {}", e.kind())),
    };
    let mut r = Reader { buf: &buf, at: 0 };
    if r.take(8)? != MAGIC {
        return Err("not a saved matcher".into());
    }
    let version = r.u32()?;
    if version != VERSION {
        return Err(format!("saved matcher has version {version}"));
    }
    let cursor = r.i64()?;
    let applied = r.i64()?;
    let n = r.u64()?;
    // Each item takes at least ITEM_BYTES: a count beyond the file is damage.
    if n > (buf.len() / ITEM_BYTES) as u64 {
        return Err("saved matcher is damaged".into());
    }
    let mut m = Matcher::new();
    m.items.reserve(n as usize);
    for _ in 0..n {
        let id = r.i64()?;
        let kind = match r.take(1)?[0] {
            0 => ItemKind::Image,
            1 => ItemKind::Video,
            _ => return Err("saved matcher is damaged".into()),
        };
        let in_index = r.take(1)?[0] != 0;
        let cut_edges = r.take(1)?[0];
        if cut_edges_of(cut_edges).fold(cut_edges, |m, e| m & !(1 << e.code())) != 0
            || (cut_edges != 0 && kind != ItemKind::Image)
        {
            return Err("saved matcher is damaged".into());
        }
        let md5: [u8; 16] = r.array()?;
        let sha256: [u8; 32] = r.array()?;
        let frames = r.u32()? as usize;
        if frames > takedown_protocol::MAX_FRAMES_PER_VIDEO {
            return Err("saved matcher is damaged".into());
        }
        let mut frame_keys = Vec::with_capacity(frames);
        for _ in 0..frames {
            frame_keys.push(r.u64()?);
        }
        push_id(&mut m.md5, md5, id);
        push_id(&mut m.sha256, sha256, id);
        m.items.insert(
            id,
            ItemInfo {
                kind,
                md5,
                sha256,
                in_index,
                frame_keys,
                cut_edges,
            },
        );
    }
    let summed = r.at;
    let sum = r.u64()?;
    if sum != fnv1a(&buf[..summed]) {
        return Err("saved matcher is damaged (checksum)".into());
    }
    let mut rest = &buf[r.at..];
    m.index = PdqIndex::load_from(&mut rest).map_err(|_| "saved index is damaged".to_string())?;
    // The index must hold exactly the keys the items say.
    let keys: usize = m
        .items
        .values()
        .map(|i| usize::from(i.in_index) + i.frame_keys.len() + cut_edges_of(i.cut_edges).count())
        .sum();
    if keys != m.index.len() {
        return Err("saved index does not fit its items".into());
    }
    m.position = Some(Position { cursor, applied });
    Ok(m)
}
