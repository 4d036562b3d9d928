//! Container sniffing: which files are handed to ffmpeg as videos.

/// Whether a file's first bytes (pass at least 189) look like a video container this
/// build hands to ffmpeg: MP4/MOV/3GP (an `ftyp` box that is not HEIF/AVIF),
/// Matroska/WebM, AVI, FLV, ASF/WMV, MPEG-PS, MPEG-TS or Y4M. Images never match.
pub fn looks_like_video(head: &[u8]) -> bool {
    let at = |i: usize, s: &[u8]| head.get(i..i + s.len()) == Some(s);
    if at(4, b"ftyp") {
        // HEIF/AVIF still images share the ISO box format.
        let still = [
            b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis",
        ];
        return !head
            .get(8..12)
            .is_some_and(|brand| still.iter().any(|s| brand == &s[..]));
    }
    at(0, &[0x1A, 0x45, 0xDF, 0xA3]) // Matroska / WebM
        || (at(0, b"RIFF") && at(8, b"AVI "))
        || at(0, b"FLV\x01")
        || at(0, &[0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11]) // ASF / WMV
        || at(0, &[0x00, 0x00, 0x01, 0xBA]) // MPEG program stream
        || (at(0, &[0x47]) && at(188, &[0x47])) // MPEG transport stream
        || at(0, b"YUV4MPEG2")
        || at(4, b"moov")
        || at(4, b"mdat")
        || at(4, b"wide")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_videos_not_images() {
        let mut mp4 = vec![0, 0, 0, 0x20];
        mp4.extend_from_slice(b"ftypisom\0\0\x02\0");
        assert!(looks_like_video(&mp4));
        let mut heic = vec![0, 0, 0, 0x18];
        heic.extend_from_slice(b"ftypheic\0\0\0\0");
        assert!(!looks_like_video(&heic));
        assert!(looks_like_video(&[0x1A, 0x45, 0xDF, 0xA3, 1, 0, 0, 0]));
        assert!(looks_like_video(b"RIFF\0\0\0\0AVI LIST"));
        assert!(!looks_like_video(b"RIFF\0\0\0\0WEBPVP8 "));
        assert!(looks_like_video(b"YUV4MPEG2 W64 H48"));
        let mut ts = vec![0u8; 200];
        ts[0] = 0x47;
        ts[188] = 0x47;
        assert!(looks_like_video(&ts));
        assert!(!looks_like_video(&[0xFF, 0xD8, 0xFF, 0xE0])); // JPEG
        assert!(!looks_like_video(b"\x89PNG\r\n\x1a\n"));
        assert!(!looks_like_video(b""));
    }
}
