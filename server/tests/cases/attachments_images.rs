//! Image attachments: dimensions and thumbnails, and the decompression bomb refused without decoding.

use std::io::Cursor;

use reqwest::StatusCode;

use super::attachments_util::{declare, download, patch, upload};
use crate::support::{TestServer, ALICE};

fn encoded(img: image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

#[tokio::test]
async fn png_and_jpeg_get_their_dimensions_and_a_thumbnail() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(crate::support::ACME).await;
    let png = encoded(image::DynamicImage::ImageRgba8(image::RgbaImage::new(800, 600)), image::ImageFormat::Png);
    let att = upload(&api, &token, false, "png", "shot.png", "image/png", &png).await;
    assert_eq!(
        att["image"],
        serde_json::json!({"width": 800, "height": 600, "thumbnail_width": 320, "thumbnail_height": 240})
    );
    let id = att["id"].as_str().unwrap();
    // The uploader may fetch its own upload's thumbnail before sending it.
    let (status, headers, bytes) = download(&api, &format!("/v1/attachments/{id}/thumbnail"), &token, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let thumb = image::load_from_memory(&bytes).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (320, 240));

    let jpeg = encoded(image::DynamicImage::ImageRgb8(image::RgbImage::new(300, 1000)), image::ImageFormat::Jpeg);
    let att = upload(&api, ALICE, true, "jpg", "tall.jpg", "image/jpeg", &jpeg).await;
    assert_eq!(att["image"]["thumbnail_height"], 320);
    assert_eq!(att["image"]["thumbnail_width"], 96);
    let id = att["id"].as_str().unwrap();
    let (status, headers, _) = download(&api, &format!("/v1/agent/attachments/{id}/thumbnail"), ALICE, None).await;
    assert_eq!((status, headers["content-type"].to_str().unwrap()), (StatusCode::OK, "image/jpeg"));

    // An image already within the thumbnail's bounds keeps its size: a thumbnail is never larger than its image.
    let gif = encoded(image::DynamicImage::ImageRgb8(image::RgbImage::new(3, 2)), image::ImageFormat::Gif);
    let att = upload(&api, &token, false, "gif", "icon.gif", "image/gif", &gif).await;
    assert_eq!(att["image"], serde_json::json!({"width": 3, "height": 2, "thumbnail_width": 3, "thumbnail_height": 2}));
    let id = att["id"].as_str().unwrap();
    let (_, _, bytes) = download(&api, &format!("/v1/attachments/{id}/thumbnail"), &token, None).await;
    let thumb = image::load_from_memory(&bytes).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (3, 2));
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    out
}

/// A few hundred bytes that claim 20000 × 20000 pixels (1.6 GB once decoded).
fn png_bomb() -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&20_000u32.to_be_bytes());
    ihdr.extend_from_slice(&20_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(chunk(b"IHDR", &ihdr));
    out.extend(chunk(b"IDAT", &[0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01]));
    out.extend(chunk(b"IEND", &[]));
    out
}

#[tokio::test]
async fn an_image_above_the_pixel_limit_is_refused_without_being_decoded() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(crate::support::ACME).await;
    let bomb = png_bomb();
    assert_eq!(declare(&api, &token, false, "bomb", "bomb.png", "image/png", &bomb).await.status, StatusCode::CREATED);
    let r = patch(&api, &token, false, "bomb", 0, &bomb).await;
    assert_eq!((r.status, r.code()), (StatusCode::PAYLOAD_TOO_LARGE, "file_too_large"), "{:?}", r.body);
    assert!(r.body["message"].as_str().unwrap().contains("20000×20000"), "{:?}", r.body);
    assert_eq!(api.get("/v1/uploads/bomb", Some(&token)).await.status, StatusCode::NOT_FOUND, "discarded");
}
