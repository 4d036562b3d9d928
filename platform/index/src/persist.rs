//! The saved form: the segments' arrays as they are in memory (little-endian), so loading is
//! one read plus a copy, never a rebuild.
//!
//! ```text
//! magic "TKPDQIX\0" | version u32 | tables u32 | segments u32 | delta u64
//! per segment: rows u64 | dir_bits u32 | row_width u32
//!              hashes rows×32 | ids rows×8 | by_id rows×4 | dead ceil(rows/64)×8
//!              per table: offsets (2^dir_bits+1)×4 | rem rows | row numbers (tables 1..) rows×row_width
//! delta: (id u64, hash 32 bytes) × delta
//! checksum u64 of everything above
//! ```
//!
//! Loading checks the checksum first, then every size and offset, so a damaged or foreign
//! file is an `InvalidData` error and never a panic or an out-of-bounds read later.

use std::collections::HashMap;
use std::io::{self, Read, Write};

use crate::PdqIndex;
use crate::bits::{MAX_DIR_BITS, MIN_DIR_BITS, TABLES, Words};
use crate::segment::{REM_PAD, Segment, Table, row_width_for};

const MAGIC: &[u8; 8] = b"TKPDQIX\0";
const VERSION: u32 = 1;
/// At most this many segments in a file (an index holds a few dozen at most).
const MAX_SEGMENTS: u32 = 1024;

/// A fast 64-bit checksum over a byte stream (four multiply–rotate lanes over 8-byte words).
/// It detects damage; it is not a defence against a forger, which the structural checks
/// after it handle by refusing anything out of bounds.
struct Checksum {
    lanes: [u64; 4],
    buf: [u8; 32],
    fill: usize,
    total: u64,
}

const K1: u64 = 0x9E37_79B1_85EB_CA87;
const K2: u64 = 0xC2B2_AE3D_27D4_EB4F;

impl Checksum {
    fn new() -> Self {
        Checksum {
            lanes: [K1, K2, K1 ^ K2, !K1],
            buf: [0; 32],
            fill: 0,
            total: 0,
        }
    }

    #[inline]
    fn block(&mut self, b: &[u8]) {
        for (i, lane) in self.lanes.iter_mut().enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[i * 8..i * 8 + 8]);
            *lane = (*lane ^ u64::from_le_bytes(w))
                .wrapping_mul(K1)
                .rotate_left(31);
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        if self.fill > 0 {
            let take = (32 - self.fill).min(data.len());
            self.buf[self.fill..self.fill + take].copy_from_slice(&data[..take]);
            self.fill += take;
            data = &data[take..];
            if self.fill < 32 {
                return;
            }
            let buf = self.buf;
            self.block(&buf);
            self.fill = 0;
        }
        let mut chunks = data.chunks_exact(32);
        for c in &mut chunks {
            self.block(c);
        }
        let rest = chunks.remainder();
        self.buf[..rest.len()].copy_from_slice(rest);
        self.fill = rest.len();
    }

    fn finish(mut self) -> u64 {
        let mut tail = [0u8; 32];
        tail[..self.fill].copy_from_slice(&self.buf[..self.fill]);
        self.block(&tail);
        let mut h = self.total.wrapping_mul(K2);
        for lane in self.lanes {
            h = (h ^ lane).wrapping_mul(K2).rotate_left(27);
        }
        h ^ (h >> 29)
    }
}

/// A writer that checksums what passes through.
struct Summing<'a, W: Write> {
    inner: &'a mut W,
    sum: Checksum,
}

impl<W: Write> Summing<'_, W> {
    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.sum.update(b);
        self.inner.write_all(b)
    }
}

/// Writes through a 1 MiB buffer of converted values.
fn put_u32s<W: Write>(w: &mut Summing<'_, W>, vals: &[u32]) -> io::Result<()> {
    for chunk in vals.chunks(1 << 18) {
        let bytes: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
        w.put(&bytes)?;
    }
    Ok(())
}

fn put_u64s<W: Write>(w: &mut Summing<'_, W>, vals: &[u64]) -> io::Result<()> {
    for chunk in vals.chunks(1 << 17) {
        let bytes: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
        w.put(&bytes)?;
    }
    Ok(())
}

fn put_hashes<W: Write>(w: &mut Summing<'_, W>, vals: &[Words]) -> io::Result<()> {
    for chunk in vals.chunks(1 << 15) {
        let bytes: Vec<u8> = chunk.iter().flat_map(crate::bits::to_bytes).collect();
        w.put(&bytes)?;
    }
    Ok(())
}

pub(crate) fn save(index: &PdqIndex, out: &mut impl Write) -> io::Result<()> {
    let mut w = Summing {
        inner: out,
        sum: Checksum::new(),
    };
    w.put(MAGIC)?;
    w.put(&VERSION.to_le_bytes())?;
    w.put(&(TABLES as u32).to_le_bytes())?;
    w.put(&(index.segments.len() as u32).to_le_bytes())?;
    w.put(&(index.delta.len() as u64).to_le_bytes())?;
    for s in &index.segments {
        w.put(&(s.rows() as u64).to_le_bytes())?;
        w.put(&s.dir_bits.to_le_bytes())?;
        w.put(&(s.row_width as u32).to_le_bytes())?;
        put_hashes(&mut w, &s.hashes)?;
        put_u64s(&mut w, &s.ids)?;
        put_u32s(&mut w, &s.by_id)?;
        put_u64s(&mut w, &s.dead)?;
        for (t, table) in s.tables.iter().enumerate() {
            put_u32s(&mut w, &table.offsets)?;
            w.put(&table.rem[..s.rows()])?;
            if t > 0 {
                // Without the 4 padding bytes.
                w.put(&table.rows[..s.rows() * s.row_width])?;
            }
        }
    }
    for (id, h) in &index.delta {
        w.put(&id.to_le_bytes())?;
        w.put(&crate::bits::to_bytes(h))?;
    }
    let sum = w.sum.finish();
    w.inner.write_all(&sum.to_le_bytes())?;
    w.inner.flush()
}

fn bad(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("not a valid PDQ index file: {what}"),
    )
}

/// A bounds-checked cursor over the loaded bytes.
struct Cursor<'a> {
    data: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        if n > self.data.len() {
            return Err(bad("truncated"));
        }
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        Ok(head)
    }

    fn len_of(&mut self, count: u64, size: usize) -> io::Result<&'a [u8]> {
        let n = usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_mul(size))
            .ok_or_else(|| bad("size out of range"))?;
        self.take(n)
    }

    fn u32(&mut self) -> io::Result<u32> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self) -> io::Result<u64> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }
}

fn u32s(b: &[u8]) -> Vec<u32> {
    b.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn u64s(b: &[u8]) -> Vec<u64> {
    b.chunks_exact(8)
        .map(|c| {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            u64::from_le_bytes(w)
        })
        .collect()
}

fn hashes(b: &[u8]) -> Vec<Words> {
    b.chunks_exact(32)
        .map(|c| {
            let mut h = [0u8; 32];
            h.copy_from_slice(c);
            crate::bits::to_words(&h)
        })
        .collect()
}

pub(crate) fn load(input: &mut impl Read) -> io::Result<PdqIndex> {
    let mut data = Vec::new();
    input.read_to_end(&mut data)?;
    if data.len() < MAGIC.len() + 8 || &data[..MAGIC.len()] != MAGIC {
        return Err(bad("wrong magic"));
    }
    let (body, tail) = data.split_at(data.len() - 8);
    let mut stored = [0u8; 8];
    stored.copy_from_slice(tail);
    let mut sum = Checksum::new();
    sum.update(body);
    if sum.finish() != u64::from_le_bytes(stored) {
        return Err(bad("checksum mismatch"));
    }
    let mut c = Cursor { data: body };
    c.take(MAGIC.len())?;
    let version = c.u32()?;
    if version != VERSION {
        return Err(bad("unsupported version"));
    }
    if c.u32()? as usize != TABLES {
        return Err(bad("table layout"));
    }
    let nseg = c.u32()?;
    if nseg > MAX_SEGMENTS {
        return Err(bad("too many segments"));
    }
    let ndelta = c.u64()?;
    let mut segments = Vec::with_capacity(nseg as usize);
    for _ in 0..nseg {
        segments.push(load_segment(&mut c)?);
    }
    let delta_bytes = c.len_of(ndelta, 40)?;
    let mut delta = Vec::with_capacity(delta_bytes.len() / 40);
    let mut delta_pos = HashMap::with_capacity(delta_bytes.len() / 40);
    for rec in delta_bytes.chunks_exact(40) {
        let mut id = [0u8; 8];
        id.copy_from_slice(&rec[..8]);
        let id = u64::from_le_bytes(id);
        let mut h = [0u8; 32];
        h.copy_from_slice(&rec[8..]);
        if delta_pos.insert(id, delta.len()).is_some() {
            return Err(bad("duplicate id"));
        }
        delta.push((id, crate::bits::to_words(&h)));
    }
    if !c.data.is_empty() {
        return Err(bad("trailing bytes"));
    }
    let mut index = PdqIndex {
        segments,
        delta,
        delta_pos,
        len: 0,
        delta_cap: 0,
    };
    index.recount();
    Ok(index)
}

fn load_segment(c: &mut Cursor<'_>) -> io::Result<Segment> {
    let rows = c.u64()?;
    let dir_bits = c.u32()?;
    let row_width = c.u32()? as usize;
    if rows == 0 || rows >= u64::from(u32::MAX) {
        return Err(bad("segment size"));
    }
    let n = rows as usize;
    if !(MIN_DIR_BITS..=MAX_DIR_BITS).contains(&dir_bits) || row_width != row_width_for(n) {
        return Err(bad("segment geometry"));
    }
    let hashes = hashes(c.len_of(rows, 32)?);
    let ids = u64s(c.len_of(rows, 8)?);
    let by_id = u32s(c.len_of(rows, 4)?);
    if by_id.iter().copied().fold(0, u32::max) as usize >= n {
        return Err(bad("id order"));
    }
    let dead = u64s(c.len_of(rows.div_ceil(64), 8)?);
    if !n.is_multiple_of(64) && dead[n / 64] >> (n % 64) != 0 {
        return Err(bad("tombstones"));
    }
    let dead_count = dead.iter().map(|w| w.count_ones() as usize).sum::<usize>();
    if dead_count >= n {
        return Err(bad("tombstones"));
    }
    let buckets = 1u64 << dir_bits;
    let mut tables = Vec::with_capacity(TABLES);
    for t in 0..TABLES {
        let offsets = u32s(c.len_of(buckets + 1, 4)?);
        if offsets[0] != 0
            || !offsets.windows(2).fold(true, |ok, w| ok & (w[0] <= w[1]))
            || offsets.last().copied() != Some(rows as u32)
        {
            return Err(bad("offsets"));
        }
        let raw_rem = c.len_of(rows, 1)?;
        let mut rem = Vec::with_capacity(n + REM_PAD);
        rem.extend_from_slice(raw_rem);
        rem.extend_from_slice(&[0u8; REM_PAD]);
        let mut row_bytes = Vec::new();
        if t > 0 {
            let raw = c.len_of(rows, row_width)?;
            row_bytes.reserve_exact(raw.len() + 4);
            row_bytes.extend_from_slice(raw);
            row_bytes.extend_from_slice(&[0u8; 4]);
            // A max (not `any`) so the compiler can vectorise it.
            let max = if row_width == 3 {
                raw.chunks_exact(3)
                    .map(|c| u32::from(c[0]) | u32::from(c[1]) << 8 | u32::from(c[2]) << 16)
                    .fold(0, u32::max)
            } else {
                raw.chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .fold(0, u32::max)
            };
            if max as usize >= n {
                return Err(bad("row numbers"));
            }
        }
        tables.push(Table {
            offsets,
            rem,
            rows: row_bytes,
        });
    }
    Ok(Segment {
        dir_bits,
        row_width,
        hashes,
        ids,
        by_id,
        dead,
        dead_count,
        tables,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recomputes the checksum so the structural checks, not the checksum, must refuse.
    fn reseal(bytes: &mut [u8]) {
        let n = bytes.len() - 8;
        let mut sum = Checksum::new();
        sum.update(&bytes[..n]);
        let s = sum.finish().to_le_bytes();
        bytes[n..].copy_from_slice(&s);
    }

    fn sample() -> (Vec<u8>, usize) {
        let entries: Vec<(u64, crate::Hash)> = (0..200u64)
            .map(|i| (i, [(i * 7 % 251) as u8; 32]))
            .collect();
        let index = PdqIndex::from_entries(entries);
        let mut bytes = Vec::new();
        save(&index, &mut bytes).expect("save");
        (bytes, index.segments[0].dir_bits as usize)
    }

    #[test]
    fn checksum_depends_on_chunking_only_through_content() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 31 % 256) as u8).collect();
        let mut a = Checksum::new();
        a.update(&data);
        let mut b = Checksum::new();
        for c in data.chunks(7) {
            b.update(c);
        }
        assert_eq!(a.finish(), b.finish());
    }

    #[test]
    fn structurally_bad_files_with_good_checksums_are_refused() {
        let (bytes, d) = sample();
        let header = 8 + 4 + 4 + 4 + 8;
        let seg_header = 8 + 4 + 4;
        let rows = 200usize;
        let offsets_at =
            header + seg_header + rows * 32 + rows * 8 + rows * 4 + rows.div_ceil(64) * 8;
        let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
        let mut edit = |name: &'static str, f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = bytes.clone();
            f(&mut b);
            reseal(&mut b);
            cases.push((name, b));
        };
        edit("version", &|b| b[8] = 9);
        edit("tables", &|b| b[12] = 12);
        edit("segments", &|b| b[16] = 0xff);
        edit("delta count", &|b| {
            b[20..28].copy_from_slice(&u64::MAX.to_le_bytes())
        });
        edit("rows", &|b| {
            b[header..header + 8].copy_from_slice(&u64::MAX.to_le_bytes())
        });
        edit("rows zero", &|b| {
            b[header..header + 8].copy_from_slice(&0u64.to_le_bytes())
        });
        edit("dir bits", &|b| b[header + 8] = 30);
        edit("row width", &|b| b[header + 12] = 4);
        edit("first offset", &|b| b[offsets_at] = 1);
        edit("last offset", &|b| {
            let last = offsets_at + (1 << d) * 4;
            b[last..last + 4].copy_from_slice(&7u32.to_le_bytes());
        });
        edit("by_id", &|b| {
            let at = header + seg_header + rows * 40;
            b[at..at + 4].copy_from_slice(&5000u32.to_le_bytes());
        });
        edit("all dead", &|b| {
            let at = header + seg_header + rows * 44;
            for i in 0..rows.div_ceil(64) * 8 {
                b[at + i] = 0xff;
            }
        });
        edit("row number", &|b| {
            // Table 1's first row number.
            let t0 = offsets_at + ((1 << d) + 1) * 4 + rows;
            let at = t0 + ((1 << d) + 1) * 4 + rows;
            b[at..at + 3].copy_from_slice(&[0xff, 0xff, 0x00]);
        });
        for (name, b) in cases {
            let r = load(&mut b.as_slice());
            assert!(r.is_err(), "{name} was accepted");
        }
    }
}
