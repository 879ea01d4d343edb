//! Notifications that reach a visitor outside the app, fed by persisted queues: push (FCM HTTP v1, APNs).

pub mod push;
