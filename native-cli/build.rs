//! With the cargo feature `embed-web`, compiles the page (`web/`, with the
//! npm package that `scripts/build_wasm.sh` puts in `web/pkg/`) into the
//! binary, so `gik serve` from an installed `gik` needs no checkout.
//! Without the feature this does nothing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_EMBED_WEB").is_none() {
        return;
    }
    if let Err(e) = embed() {
        eprintln!("error: embedding the page (feature embed-web): {e}");
        std::process::exit(1);
    }
}

fn embed() -> Result<(), String> {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?;
    let web = Path::new(&manifest).join("../web");
    let web = web
        .canonicalize()
        .map_err(|e| format!("{}: {e}", web.display()))?;
    for needed in ["index.html", "pkg/gik_wasm.js", "pkg/gik_wasm_bg.wasm"] {
        if !web.join(needed).is_file() {
            return Err(format!(
                "{} is missing; build the npm package first: scripts/build_wasm.sh",
                web.join(needed).display()
            ));
        }
    }
    println!("cargo:rerun-if-changed={}", web.display());
    let mut files = Vec::new();
    walk(&web, &web, &mut files)?;
    files.sort();
    let mut out = String::from("pub static WEB: &[(&str, &[u8])] = &[\n");
    for (rel, abs) in &files {
        println!("cargo:rerun-if-changed={}", abs.display());
        let abs = abs.to_str().ok_or("a non-UTF-8 path under web/")?;
        writeln!(out, "    ({rel:?}, include_bytes!({abs:?})),").map_err(|e| e.to_string())?;
    }
    out.push_str("];\n");
    let dest =
        PathBuf::from(std::env::var("OUT_DIR").map_err(|e| e.to_string())?).join("web_assets.rs");
    std::fs::write(&dest, out).map_err(|e| format!("{}: {e}", dest.display()))
}

/// Every file below `dir` but dotfiles, `tools/` (build helpers) and
/// `README.md`s, as `(path relative to web/, absolute path)`; symlinks are
/// followed (the sample GRIB file is one).
fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name.starts_with('.') || name == "README.md" || (dir == base && name == "tools") {
            continue;
        }
        if path.is_dir() {
            walk(base, &path, out)?;
        } else if path.is_file() {
            let rel = path
                .strip_prefix(base)
                .map_err(|e| e.to_string())?
                .to_string_lossy()
                .replace('\\', "/");
            let abs = path
                .canonicalize()
                .map_err(|e| format!("{}: {e}", path.display()))?;
            out.push((rel, abs));
        }
    }
    Ok(())
}
