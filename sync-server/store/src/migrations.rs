//! The rule of a backend's migrations: the files of its `migrations/` folder, named
//! `NNNN_name.sql` from `0001`, each embedded once and in that order (a database records only
//! how many it applied, so a file is never renumbered, edited in a way that changes the
//! schema, or removed once released).

use std::path::Path;

/// Checks that `embedded` holds exactly the files of `dir`, in order: says what is wrong.
pub fn check_embedded(dir: &Path, embedded: &[&str]) -> Result<(), String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".sql"))
        .collect();
    files.sort();
    if files.len() != embedded.len() {
        return Err(format!(
            "{} has {} migration files and {} are embedded: embed each file once, in order",
            dir.display(),
            files.len(),
            embedded.len()
        ));
    }
    for (index, (name, sql)) in files.iter().zip(embedded).enumerate() {
        let number = format!("{:04}_", index + 1);
        if !name.starts_with(&number) {
            return Err(format!(
                "migration {} is `{name}`: number it `{number}...`",
                index + 1
            ));
        }
        let text = std::fs::read_to_string(dir.join(name)).map_err(|e| format!("{name}: {e}"))?;
        if text != *sql {
            return Err(format!("migration {} is not the file `{name}`", index + 1));
        }
    }
    Ok(())
}
