//! The TypeScript the UI compiles against, generated from the API's Rust types with ts-rs.
//!
//! One file, `ui/src/lib/api/generated/api.ts`: every request and response type, [`ApiError`],
//! and a `Commands` map from each command name to its request and response, so the UI's
//! `Backend.call` is typed end to end. It is committed; a test regenerates it and fails when the
//! committed file differs. To regenerate after changing the API:
//!
//! ```sh
//! UPDATE_BINDINGS=1 cargo test -p pos-till-service --lib bindings
//! ```
//!
//! [`ApiError`]: crate::error::ApiError

use std::collections::HashSet;

use ts_rs::{TS, TypeVisitor};

use crate::commands::{COMMANDS, declarations};

/// Where the generated file lives, relative to the workspace root.
pub const BINDINGS_PATH: &str = "ui/src/lib/api/generated/api.ts";

/// Adds the declaration of `T` and of every named type it depends on (once each).
pub(crate) fn collect<T: TS + 'static + ?Sized>(out: &mut Vec<(String, String)>) {
    struct Visit<'a> {
        out: &'a mut Vec<(String, String)>,
    }
    impl TypeVisitor for Visit<'_> {
        fn visit<U: TS + 'static + ?Sized>(&mut self) {
            collect::<U>(self.out);
        }
    }
    match declaration::<T>() {
        Some(decl) if out.iter().any(|(name, _)| *name == decl.0) => {}
        Some(decl) => {
            out.push(decl);
            T::visit_dependencies(&mut Visit { out });
        }
        // Containers (Vec, Option) are not declared themselves: their contents are.
        None => {
            T::visit_dependencies(&mut Visit { out: &mut *out });
            T::visit_generics(&mut Visit { out });
        }
    }
}

/// `(name, "export type ...")` for a named type; `None` for built-ins and containers.
fn declaration<T: TS + 'static + ?Sized>() -> Option<(String, String)> {
    T::output_path()?;
    Some((T::ident(), format!("export {}", T::decl())))
}

/// The whole generated file.
pub fn generate() -> String {
    let mut declarations = declarations();
    declarations.sort_by(|a, b| a.0.cmp(&b.0));
    let mut seen = HashSet::new();
    let mut text = String::from(
        "// Generated from crates/till-service/src/api.rs by ts-rs: do not edit by hand.\n\
         // Regenerate: UPDATE_BINDINGS=1 cargo test -p pos-till-service --lib bindings\n\n",
    );
    for (name, decl) in declarations {
        if seen.insert(name) {
            text.push_str(&decl);
            text.push_str("\n\n");
        }
    }
    text.push_str(
        "/** Every command: its request and response types. */\nexport interface Commands {\n",
    );
    for command in COMMANDS {
        text.push_str(&format!(
            "  {}: {{ request: {}; response: {} }};\n",
            command.name,
            (command.request)(),
            (command.response)()
        ));
    }
    text.push_str("}\n\n/** A command's name. */\nexport type CommandName = keyof Commands;\n");
    text
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn committed_path() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(BINDINGS_PATH)
    }

    #[test]
    fn bindings_are_up_to_date() {
        let generated = generate();
        let path = committed_path();
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            std::fs::create_dir_all(path.parent().expect("a parent directory")).expect("mkdir");
            std::fs::write(&path, &generated).expect("write the bindings");
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{} is not what the API's Rust types generate: run \
             `UPDATE_BINDINGS=1 cargo test -p pos-till-service --lib bindings` and commit it",
            BINDINGS_PATH
        );
    }

    #[test]
    fn every_command_is_documented_in_api_md() {
        let api_md =
            std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("API.md"))
                .expect("API.md");
        for command in COMMANDS {
            assert!(
                api_md.contains(&format!("`{}`", command.name)),
                "API.md must document the command `{}`",
                command.name
            );
        }
    }
}
