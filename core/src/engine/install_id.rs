//! Install ids for apps that set no unit id. The only use of `rand` in the core: sampling never
//! draws randomness (`docs/spec-sampling.md`).

/// A random install id (UUID v4 text) for apps that set no unit id.
///
/// The bytes come from the operating system's generator (`rand`'s `OsRng`; a user-space RNG
/// would add its code to every app for one call per install). Should the OS refuse, std's
/// per-process random hash keys mixed with the clock stand in rather than panicking.
pub fn generate_install_id() -> String {
    use rand::TryRngCore;
    let mut bytes = [0u8; 16];
    if rand::rngs::OsRng.try_fill_bytes(&mut bytes).is_err() {
        bytes = fallback_random_bytes();
    }
    uuid_v4_text(bytes)
}

/// 16 random bytes as UUID v4 text: the version and RFC 4122 variant bits are set, the other
/// 122 bits are the input's. Callers with their own source of bytes (a seeded simulation) use
/// it so every install id has one format.
pub fn uuid_v4_text(bytes: [u8; 16]) -> String {
    let mut value = u128::from_be_bytes(bytes);
    value = (value & !(0xF << 76)) | (0x4 << 76); // version 4
    value = (value & !(0x3 << 62)) | (0x2 << 62); // RFC 4122 variant
    let hex = format!("{value:032x}");
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

fn fallback_random_bytes() -> [u8; 16] {
    use std::hash::{BuildHasher, Hasher};
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_nanos());
    let half = |salt: u64| {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(now);
        hasher.write_u64(salt);
        hasher.finish()
    };
    ((u128::from(half(1)) << 64) | u128::from(half(2))).to_be_bytes()
}
