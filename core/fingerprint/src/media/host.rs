//! Pixels decoded by the phone's own decoder (HEIC, or anything the core does not read),
//! handed to the core as RGBA.
//!
//! Platform decoders are often asked for a smaller picture (Android `ImageDecoder`
//! target sizes, iOS `CGImageSource` thumbnails). PDQ of a downscaled picture drifts from
//! the reference's PDQ of the full picture, and no downscale we measured keeps every
//! photo within the bound (10 bits, about 1 bit on average): on 30 camera-sized photos,
//! a shorter side of 2048 gave mean 2.1–3.3 bits and up to 28 (box filter), 3072 gave
//! mean 1.9–3.9 and up to 18 (`scripts/photo-conformance.py host-size`;
//! `docs/adr/0004-jpeg-scaled-decoding.md`). So the host must hand in the picture at
//! its own size: [`check_host_pixels`] refuses anything smaller, allowing
//! [`HOST_SIZE_TOLERANCE`] pixels of rounding.

/// Pixels of rounding allowed between the host's picture and the original's size.
pub const HOST_SIZE_TOLERANCE: u32 = 1;

/// A host handed in a picture smaller than the original (or did not say how large the
/// original is).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the decoded picture is {width}x{height} but the original is \
     {original_width}x{original_height}: PDQ needs the picture at its own size (a \
     downscale moves the hash away from what platforms compute)"
)]
pub struct HostPixelsTooSmall {
    /// Width handed in.
    pub width: u32,
    /// Height handed in.
    pub height: u32,
    /// Width of the original picture (0: not given).
    pub original_width: u32,
    /// Height of the original picture (0: not given).
    pub original_height: u32,
}

/// Check that host-decoded pixels are the original picture's own size, so that PDQ is
/// the reference's. `original_width` × `original_height` is the size in the picture's
/// header (either orientation: a host may hand in the picture upright). Accepted: both
/// sides at least the original's, less [`HOST_SIZE_TOLERANCE`]. An unknown original
/// size (0) is refused.
pub fn check_host_pixels(
    width: u32,
    height: u32,
    original_width: u32,
    original_height: u32,
) -> Result<(), HostPixelsTooSmall> {
    let err = HostPixelsTooSmall {
        width,
        height,
        original_width,
        original_height,
    };
    if original_width == 0 || original_height == 0 {
        return Err(err);
    }
    let (short, long) = (width.min(height), width.max(height));
    let (o_short, o_long) = (
        original_width.min(original_height),
        original_width.max(original_height),
    );
    let t = HOST_SIZE_TOLERANCE;
    if short.saturating_add(t) >= o_short && long.saturating_add(t) >= o_long {
        Ok(())
    } else {
        Err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_original_size_passes_in_either_orientation() {
        assert_eq!(check_host_pixels(4032, 3024, 4032, 3024), Ok(()));
        assert_eq!(check_host_pixels(3024, 4032, 4032, 3024), Ok(()));
        // Rounding by a decoder that works in even sizes.
        assert_eq!(check_host_pixels(4031, 3023, 4032, 3024), Ok(()));
        // Small originals are fine at their own size.
        assert_eq!(check_host_pixels(640, 480, 640, 480), Ok(()));
        assert_eq!(check_host_pixels(3000, 200, 3000, 200), Ok(()));
    }

    #[test]
    fn downscales_are_refused() {
        let e = check_host_pixels(2048, 1536, 4032, 3024).unwrap_err();
        assert_eq!((e.width, e.original_width), (2048, 4032));
        assert!(e.to_string().contains("2048x1536"));
        assert!(check_host_pixels(4032, 3000, 4032, 3024).is_err());
        assert!(check_host_pixels(320, 240, 640, 480).is_err());
        assert!(check_host_pixels(3072, 4000, 6000, 4000).is_err());
    }

    #[test]
    fn an_unknown_original_size_is_refused() {
        assert!(check_host_pixels(4032, 3024, 0, 0).is_err());
        assert!(check_host_pixels(4032, 3024, 4032, 0).is_err());
    }
}
