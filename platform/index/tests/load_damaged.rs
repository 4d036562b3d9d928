//! `load_from` refuses anything that is not exactly what `save_to` wrote, without panicking.

use takedown_pdq_index::{Hash, PdqIndex};

fn sample_index() -> PdqIndex {
    let mut x: u64 = 42;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let entries: Vec<(u64, Hash)> = (0..300u64)
        .map(|id| {
            let mut h = [0u8; 32];
            for c in h.chunks_exact_mut(8) {
                c.copy_from_slice(&next().to_le_bytes());
            }
            (id, h)
        })
        .collect();
    let mut index = PdqIndex::from_entries(entries);
    index.set_delta_capacity(64);
    index.remove(17);
    index.insert(1000, &[7u8; 32]);
    index
}

fn saved() -> Vec<u8> {
    let mut bytes = Vec::new();
    sample_index().save_to(&mut bytes).expect("save");
    bytes
}

#[test]
fn round_trip_loads() {
    let bytes = saved();
    let index = PdqIndex::load_from(&mut bytes.as_slice()).expect("load");
    assert_eq!(index.len(), 300);
    assert!(!index.contains(17));
    assert!(index.contains(1000));
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = saved();
    for cut in 0..bytes.len() {
        let r = PdqIndex::load_from(&mut &bytes[..cut]);
        assert!(
            r.is_err(),
            "a file cut at {cut} of {} bytes loaded",
            bytes.len()
        );
    }
}

#[test]
fn every_flipped_bit_is_an_error() {
    let bytes = saved();
    let mut damaged = bytes.clone();
    // Every byte of the headers and the first arrays, then every 5th byte, each with one of
    // three bit positions.
    for i in (0..bytes.len()).filter(|i| *i < 4096 || i % 5 == 0) {
        for bit in [(i % 8) as u8, ((i + 3) % 8) as u8] {
            damaged[i] ^= 1 << bit;
            let r = PdqIndex::load_from(&mut damaged.as_slice());
            assert_eq!(
                r.map(|_| ()).map_err(|e| e.kind()),
                Err(std::io::ErrorKind::InvalidData),
                "byte {i} bit {bit}"
            );
            damaged[i] ^= 1 << bit;
        }
    }
}

#[test]
fn foreign_files_are_errors() {
    for junk in [
        &b""[..],
        &b"TKPDQIX"[..],
        &b"TKPDQIX\0\x01\0\0\0"[..],
        &b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"[..],
        &[0u8; 4096][..],
        &[0xffu8; 100][..],
    ] {
        assert!(PdqIndex::load_from(&mut &junk[..]).is_err());
    }
    let mut bytes = saved();
    bytes.extend_from_slice(b"more");
    assert!(PdqIndex::load_from(&mut bytes.as_slice()).is_err());
}

#[test]
fn a_read_error_is_passed_on() {
    struct Failing;
    impl std::io::Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk gone"))
        }
    }
    let e = PdqIndex::load_from(&mut Failing).err().map(|e| e.kind());
    assert_eq!(e, Some(std::io::ErrorKind::Other));
}
