//! Hashes the results depend on: run ids and configuration hashes (SHA-256 of a value's JSON
//! form) and the seed of every random stream (SHA-256 of the experiment seed and the stream's
//! label). A bottom module: it uses no other module of the crate.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The first `n_hex` hex digits of the SHA-256 of `value`'s JSON form.
pub fn hex_digest<T: Serialize>(value: &T, n_hex: usize) -> String {
    // Serialising plain structs of numbers, strings and enums to JSON cannot fail.
    let json = serde_json::to_vec(value).expect("settings serialise to JSON");
    let digest = Sha256::digest(&json);
    digest
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<String>()[..n_hex]
        .to_string()
}

/// The SHA-256 of `bytes` in hex (64 digits).
pub fn bytes_digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A seed for the stream labelled `label`, derived from the experiment seed.
pub fn derive_seed(experiment_seed: u64, label: &str) -> u64 {
    let digest = Sha256::digest(format!("labelnoise-seed-v1|{experiment_seed}|{label}"));
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(bytes)
}
