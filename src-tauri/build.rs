//! Declares the app's one command (so capabilities can grant exactly it) and, when the UI has
//! not been built yet, embeds a page that says how to build it instead of failing the build.
//! `POS_UI_DIST` names another built UI directory than `../ui/dist`.

fn main() {
    println!("cargo:rerun-if-env-changed=POS_UI_DIST");
    let dist = std::env::var("POS_UI_DIST").unwrap_or_else(|_| "../ui/dist".into());
    println!("cargo:rerun-if-changed={dist}/index.html");
    let frontend = if std::path::Path::new(&dist).join("index.html").exists() {
        dist
    } else {
        println!("cargo:warning={dist} is not built: the app embeds a page saying how to build it");
        "fallback".into()
    };
    let config = format!(
        r#"{{"build":{{"frontendDist":{}}}}}"#,
        serde_json_string(&frontend)
    );
    // The context macro (in rustc) and tauri-build (here) both read this override.
    println!("cargo:rustc-env=TAURI_CONFIG={config}");
    #[allow(unsafe_code)]
    // SAFETY: the build script is single-threaded at this point.
    unsafe {
        std::env::set_var("TAURI_CONFIG", &config);
    }
    let manifest = tauri_build::AppManifest::new().commands(&["call"]);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("tauri build configuration");
}

/// `text` as a JSON string literal.
fn serde_json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
