mod auth;
mod chatflows;
mod consent;
mod messages;
mod realtime;
mod restart;
mod robustness;
