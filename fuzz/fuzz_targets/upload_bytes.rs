//! The bytes of an uploaded file, which are all the sender's: the type sniffed from them, the check of a declared
//! type against it, and the server's thumbnail maker (header read, the pixel guard, decode, resize, encode) for each
//! image type it accepts. Never a panic; an image the guard lets through keeps its thumbnail within the bounds.
//! The first byte picks the type the bytes are declared as; the seed corpus holds a tiny image of each type.
#![no_main]

use std::io::Cursor;

use chatflow_protocol::attachment::{declared_type_matches, sniff, THUMBNAIL_MAX_SIDE};
use chatflow_server::attachments::thumbs::{make_from, Made};
use libfuzzer_sys::fuzz_target;

const DECLARED: &[&str] = &["image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf", "text/plain"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else { return };
    let declared = DECLARED[usize::from(selector) % DECLARED.len()];
    let sniffed = sniff(bytes);
    if let Some(sniffed) = sniffed {
        let _ = declared_type_matches(declared, sniffed);
    }
    // The server makes thumbnails of the type it sniffed; the declared one is also tried, as a decoder's input
    // that does not match its format.
    for mime in sniffed.into_iter().chain([declared]) {
        if let Made::Thumb { info, bytes: thumb } = make_from(|| Ok(Cursor::new(bytes)), mime) {
            assert!(info.thumbnail_width <= THUMBNAIL_MAX_SIDE && info.thumbnail_height <= THUMBNAIL_MAX_SIDE);
            assert!(info.thumbnail_width <= info.width.max(1) && info.thumbnail_height <= info.height.max(1));
            assert!(!thumb.is_empty());
        }
    }
});
