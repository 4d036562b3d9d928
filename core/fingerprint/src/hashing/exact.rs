//! Exact fingerprints: MD5 and SHA-256 of a file's bytes, streamed.

use md5::Md5;
use sha2::{Digest, Sha256};
use std::io::{self, Read};

/// MD5 and SHA-256 of the same bytes, as lowercase hex.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExactHashes {
    /// MD5, 32 lowercase hex digits.
    pub md5: String,
    /// SHA-256, 64 lowercase hex digits.
    pub sha256: String,
}

/// Incremental MD5 + SHA-256.
#[derive(Default, Clone)]
pub struct ExactHasher {
    md5: Md5,
    sha256: Sha256,
    len: u64,
}

impl ExactHasher {
    /// A fresh hasher.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.md5.update(bytes);
        self.sha256.update(bytes);
        self.len += bytes.len() as u64;
    }

    /// Bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing has been fed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The two digests.
    pub fn finish(self) -> ExactHashes {
        ExactHashes {
            md5: hex::encode(self.md5.finalize()),
            sha256: hex::encode(self.sha256.finalize()),
        }
    }
}

/// Hash everything `reader` yields in 256 KiB chunks; memory stays constant however
/// large the input (a 4 GB video is fine). Returns the digests and the byte count.
pub fn hash_reader(mut reader: impl Read) -> io::Result<(ExactHashes, u64)> {
    let mut h = ExactHasher::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    let len = h.len();
    Ok((h.finish(), len))
}

/// Hash a byte slice.
pub fn hash_bytes(bytes: &[u8]) -> ExactHashes {
    let mut h = ExactHasher::new();
    h.update(bytes);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        let e = hash_bytes(b"");
        assert_eq!(e.md5, "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            e.sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let a = hash_bytes(b"abc");
        assert_eq!(a.md5, "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            a.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn streamed_equals_whole() {
        let data: Vec<u8> = (0..1_000_003u32).map(|i| (i * 7 % 251) as u8).collect();
        let (s, n) = hash_reader(&data[..]).unwrap();
        assert_eq!(n, data.len() as u64);
        assert_eq!(s, hash_bytes(&data));
    }
}
