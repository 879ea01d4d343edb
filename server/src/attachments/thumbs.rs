//! Image thumbnails, made on the server (never on the phone) when an image upload completes.
//!
//! The dimensions are read from the header first: an image above `MAX_IMAGE_PIXELS` is refused without being
//! decoded (a small file that inflates to gigabytes — a decompression bomb). Decoding runs on the blocking pool with
//! the decoder's own allocation limit as a second guard. JPEG and WebP thumbnails are JPEG; PNG and GIF (which may be
//! transparent) give PNG. An image the decoder cannot read is stored as a plain file, without `ImageInfo`.
//! HEIC is not an accepted type: there is no pure-Rust decoder to make its thumbnail.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Seek};
use std::path::{Path, PathBuf};

use chatflow_protocol::attachment::{ImageInfo, MAX_IMAGE_PIXELS, THUMBNAIL_MAX_SIDE};
use chatflow_protocol::ErrorCode;
use image::{DynamicImage, ImageFormat, ImageReader, Limits};

use crate::domain::attachments::Refusal;
use crate::state::AppState;

/// Most bytes the decoder may allocate (a 50-Mpx RGBA image needs 200 MB; this leaves room for its buffers).
const MAX_DECODE_ALLOC: u64 = 4 * MAX_IMAGE_PIXELS + 64 * 1024 * 1024;

/// The format a sniffed type decodes with, for the types that have a thumbnail.
fn format_of(mime: &str) -> Option<ImageFormat> {
    match mime {
        "image/jpeg" => Some(ImageFormat::Jpeg),
        "image/png" => Some(ImageFormat::Png),
        "image/gif" => Some(ImageFormat::Gif),
        "image/webp" => Some(ImageFormat::WebP),
        _ => None,
    }
}

/// The thumbnail's type for an image's type (`download` serves it with this type).
pub fn thumbnail_mime(mime: &str) -> &'static str {
    match mime {
        "image/png" | "image/gif" => "image/png",
        _ => "image/jpeg",
    }
}

/// Is an image of `width × height` small enough to decode?
pub fn check_pixels(width: u32, height: u32) -> Result<(), Refusal> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_IMAGE_PIXELS {
        return Err(Refusal {
            code: ErrorCode::FileTooLarge,
            message: format!(
                "the image is {width}×{height} ({pixels} pixels); images above {MAX_IMAGE_PIXELS} pixels are refused"
            ),
        });
    }
    Ok(())
}

/// What making a thumbnail gave.
#[derive(Debug)]
pub enum Made {
    NotAnImage,
    Undecodable,
    Refused(Refusal),
    Thumb { info: ImageInfo, bytes: Vec<u8> },
}

fn make_blocking(path: &Path, mime: &str) -> Made {
    make_from(|| File::open(path).map(BufReader::new), mime)
}

/// The thumbnail of the bytes `open` reads (opened twice: once for the header, once to decode), as type `mime`.
/// Public for the fuzz target, which gives it bytes from memory: every byte of an upload is the sender's.
pub fn make_from<R: BufRead + Seek>(open: impl Fn() -> std::io::Result<R>, mime: &str) -> Made {
    let Some(format) = format_of(mime) else { return Made::NotAnImage };
    let reader = || open().map(|bytes| ImageReader::with_format(bytes, format));
    let Ok((width, height)) = reader().and_then(|r| r.into_dimensions().map_err(std::io::Error::other)) else {
        return Made::Undecodable;
    };
    if let Err(refusal) = check_pixels(width, height) {
        return Made::Refused(refusal);
    }
    let Ok(mut r) = reader() else { return Made::Undecodable };
    let mut limits = Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    r.limits(limits);
    let Ok(image) = r.decode() else { return Made::Undecodable };
    // Shrink only: `thumbnail` would enlarge a small image (a 3×2 icon into a 320×213 "thumbnail").
    let fits = width <= THUMBNAIL_MAX_SIDE && height <= THUMBNAIL_MAX_SIDE;
    let thumb = if fits { image } else { image.thumbnail(THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE) };
    let (out_format, thumb) = match thumbnail_mime(mime) {
        "image/png" => (ImageFormat::Png, thumb),
        _ => (ImageFormat::Jpeg, DynamicImage::ImageRgb8(thumb.to_rgb8())),
    };
    let mut bytes = Cursor::new(Vec::new());
    if thumb.write_to(&mut bytes, out_format).is_err() {
        return Made::Undecodable;
    }
    let info = ImageInfo { width, height, thumbnail_width: thumb.width(), thumbnail_height: thumb.height() };
    Made::Thumb { info, bytes: bytes.into_inner() }
}

/// An image's dimensions and the blob key of its thumbnail; `Ok(None)` for other types and undecodable images;
/// a refusal for an image too large to decode.
pub async fn make(state: &AppState, path: &Path, mime: &str) -> Result<Option<(ImageInfo, Option<String>)>, Refusal> {
    let (p, m): (PathBuf, String) = (path.to_owned(), mime.to_owned());
    let made = match tokio::task::spawn_blocking(move || make_blocking(&p, &m)).await {
        Ok(made) => made,
        Err(e) => {
            tracing::warn!(error = %e, "thumbnail task failed");
            return Ok(None);
        }
    };
    match made {
        Made::NotAnImage | Made::Undecodable => Ok(None),
        Made::Refused(r) => Err(r),
        Made::Thumb { info, bytes } => {
            let key = crate::blobs::sha256_hex(&bytes);
            match state.blobs.put_bytes(&key, bytes.into()).await {
                Ok(()) => Ok(Some((info, Some(key)))),
                Err(e) => {
                    tracing::warn!(error = %e, "thumbnail not stored");
                    Ok(Some((info, None)))
                }
            }
        }
    }
}
