//! Enrollment codes and bearer tokens. The server stores only their SHA-256, so a copy of the
//! database does not let anyone act as a till or a head-office user. Head-office passwords are
//! Argon2id PHC strings; [`verify_password_in`] checks one in a buffer the caller reuses, so
//! the memory of many checks is bounded (see [`crate::login_throttle`]).

use pos_domain::record::sha256_hex;

/// Characters of enrollment codes: Crockford base32 (no I, L, O, U), easy to read and type.
const CODE_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

pub use pos_hq_core::random::{RandomError, random_bytes};

/// A new one-time enrollment code, 12 characters in groups of four (`K7QM-2XPD-9RTA`): 60 bits.
pub fn new_enrollment_code() -> Result<String, RandomError> {
    let bytes: [u8; 12] = random_bytes()?;
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| char::from(CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()]))
        .collect();
    Ok(chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-"))
}

/// The code as typed, normalized: upper case, no dashes or spaces, and the letters people
/// confuse with digits (O, I, L) read as those digits.
pub fn normalize_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect()
}

/// What the server stores for an enrollment code.
pub fn code_hash(typed: &str) -> String {
    sha256_hex(normalize_code(typed).as_bytes())
}

/// A new bearer token: 32 random bytes in hex.
pub fn new_token() -> Result<String, RandomError> {
    Ok(hex::encode(random_bytes::<32>()?))
}

/// What the server stores for a token.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// Hashes a head-office user's password (Argon2id, random salt), in PHC string form.
pub fn hash_password(password: &str) -> Result<String, RandomError> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt_bytes: [u8; 16] = random_bytes()?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| RandomError(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| RandomError(e.to_string()))
}

/// True if `password` matches the stored PHC hash.
pub fn verify_password(password: &str, stored: &str) -> bool {
    verify_password_in(password, stored, &mut Vec::new())
}

/// Argon2 memory blocks (1 KiB each) a verification may use: what [`hash_password`] uses
/// (19 MiB). A stored hash asking for more is refused rather than let it take more memory.
pub const PASSWORD_MEMORY_BLOCKS: usize = argon2::Params::DEFAULT_M_COST as usize;

/// [`verify_password`] working in `memory`, which is grown to the hash's size once and then
/// reused: a server verifying with a fixed set of buffers never holds more than they do,
/// however many logins arrive (Argon2's 19 MiB per hash, allocated afresh on each of many
/// threads, took it from 0.25 to 4.9 GB).
pub fn verify_password_in(password: &str, stored: &str, memory: &mut Vec<argon2::Block>) -> bool {
    use argon2::password_hash::{Output, PasswordHash};
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        argon2::Algorithm::try_from(hash.algorithm),
        argon2::Params::try_from(&hash),
    ) else {
        return false;
    };
    let version = match hash.version.map(argon2::Version::try_from) {
        None => argon2::Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    if params.block_count() > PASSWORD_MEMORY_BLOCKS {
        return false;
    }
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), argon2::Block::default());
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let argon2 = argon2::Argon2::new(algorithm, version, params);
    let computed = Output::init_with(expected.len(), |out| {
        argon2
            .hash_password_into_with_memory(password.as_bytes(), salt, out, &mut memory[..])
            .map_err(|_| argon2::password_hash::Error::Crypto)
    });
    // `Output` compares in constant time.
    computed.is_ok_and(|computed| computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_survive_typing_variations() {
        let code = new_enrollment_code().unwrap();
        assert_eq!(code.len(), 14, "three groups of four with two dashes");
        let typed = code.to_lowercase().replace('-', " ");
        assert_eq!(
            code_hash(&typed),
            code_hash(&code),
            "a code typed in lower case with spaces is the same code"
        );
        assert_eq!(normalize_code("o1-IL"), "0111");
    }

    #[test]
    fn passwords_are_salted_and_checked() {
        let a = hash_password("correct horse").unwrap();
        let b = hash_password("correct horse").unwrap();
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify_password("correct horse", &a));
        assert!(
            !verify_password("correct hors", &a),
            "a wrong password fails"
        );
        assert!(
            !verify_password("correct horse", "garbage"),
            "a bad hash fails"
        );
        let mut memory = Vec::new();
        for _ in 0..2 {
            assert!(
                verify_password_in("correct horse", &a, &mut memory),
                "a reused buffer verifies like a fresh one"
            );
            assert!(!verify_password_in("correct hors", &a, &mut memory));
        }
        assert_eq!(
            memory.len(),
            PASSWORD_MEMORY_BLOCKS,
            "the buffer holds one hash's memory"
        );
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_ne!(a, b, "two tokens never collide");
        assert_ne!(token_hash(&a), a, "only a hash is stored");
    }
}
