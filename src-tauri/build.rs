//! Declares the app's one command (so capabilities can grant exactly it) and, when the UI has
//! not been built yet, embeds a page that says how to build it instead of failing the build.

fn main() {
    println!("cargo:rerun-if-changed=../ui/dist/index.html");
    if !std::path::Path::new("../ui/dist/index.html").exists() {
        let config = r#"{"build":{"frontendDist":"fallback"}}"#;
        println!("cargo:rustc-env=TAURI_CONFIG={config}");
        println!(
            "cargo:warning=ui/dist is not built: the app embeds a page saying how to build it"
        );
        // tauri-build reads the same override from its own environment.
        #[allow(unsafe_code)]
        // SAFETY: the build script is single-threaded at this point.
        unsafe {
            std::env::set_var("TAURI_CONFIG", config);
        }
    }
    let manifest = tauri_build::AppManifest::new().commands(&["call"]);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("tauri build configuration");
}
