//! The page `gik serve` hands out: embedded in the binary (cargo feature
//! `embed-web`, what a release or `cargo install` build uses, so an
//! installed `gik` needs no checkout), or a directory (`--web DIR`, or the
//! checkout's `web/` in a developer build).

use crate::{CliError, Result};
use std::path::{Path, PathBuf};

#[cfg(feature = "embed-web")]
mod embedded {
    // `WEB: &[(&str, &[u8])]`: every file of `web/` (with the npm package
    // in `web/pkg/`), path relative to `web/`, written by build.rs.
    include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));
}

/// Where the page's files come from.
#[derive(Debug)]
pub enum Assets {
    /// A directory on disk.
    Dir(PathBuf),
    /// Files compiled into the binary: `(path relative to web/, bytes)`.
    #[cfg_attr(not(feature = "embed-web"), allow(dead_code))]
    Embedded(&'static [(&'static str, &'static [u8])]),
}

/// One file of the page.
#[derive(Debug)]
pub enum Asset {
    /// A file on disk.
    File(PathBuf),
    /// Bytes in the binary, with their path relative to `web/`.
    Bytes(&'static str, &'static [u8]),
}

impl Assets {
    /// `--web DIR` if given; else the page built into the binary; else
    /// `$GIK_WEB`, `./web` or the checkout's `web/`.
    ///
    /// # Errors
    /// A `--web` without `index.html`, or no page anywhere.
    pub fn find(arg: Option<&Path>) -> Result<Self> {
        if let Some(dir) = arg {
            if dir.join("index.html").is_file() {
                return Ok(Self::Dir(dir.to_path_buf()));
            }
            return Err(CliError::Usage(format!(
                "--web {}: no index.html there",
                dir.display()
            )));
        }
        #[cfg(feature = "embed-web")]
        {
            Ok(Self::Embedded(embedded::WEB))
        }
        #[cfg(not(feature = "embed-web"))]
        {
            let candidates = [
                std::env::var_os("GIK_WEB").map(PathBuf::from),
                Some(PathBuf::from("web")),
                Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../web")),
            ];
            candidates
                .into_iter()
                .flatten()
                .find(|d| d.join("index.html").is_file())
                .map(Self::Dir)
                .ok_or_else(|| {
                    CliError::Usage(
                        "this gik was built without the page (cargo feature `embed-web`) and \
                         cannot find web/index.html; run it from the gik checkout, pass --web DIR, \
                         or install with `scripts/build_wasm.sh && cargo install --path native-cli --features embed-web`"
                            .into(),
                    )
                })
        }
    }

    /// Says where the page comes from, and warns when its wasm is missing.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Dir(d) => {
                if !d.join("pkg/gik_wasm.js").is_file() {
                    eprintln!(
                        "gik: warning: {} has no wasm package yet; build it with scripts/build_wasm.sh",
                        d.join("pkg").display()
                    );
                }
                d.display().to_string()
            }
            Self::Embedded(files) => format!("this binary ({} files)", files.len()),
        }
    }

    /// The file for the url path `rel` (`/`, `/app.js`, `/pkg/gik_wasm.js`):
    /// `None` when it does not exist, would leave the page's directory, or
    /// names a dotfile.
    #[must_use]
    pub fn get(&self, rel: &str) -> Option<Asset> {
        let rel = rel.trim_start_matches('/');
        let rel = if rel.is_empty() || rel.ends_with('/') {
            format!("{rel}index.html")
        } else {
            rel.to_string()
        };
        let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
        if parts.iter().any(|p| p.starts_with('.') || p.contains('\\')) {
            return None;
        }
        let clean = parts.join("/");
        match self {
            Self::Dir(d) => Some(Asset::File(d.join(clean))),
            Self::Embedded(files) => files
                .iter()
                .find(|(p, _)| *p == clean)
                .map(|(p, b)| Asset::Bytes(p, b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_paths_stay_in_the_page_and_skip_dotfiles() {
        let a = Assets::Embedded(&[("index.html", b"<html>"), ("pkg/gik_wasm.js", b"js")]);
        assert!(matches!(
            a.get("/"),
            Some(Asset::Bytes("index.html", b"<html>"))
        ));
        assert!(matches!(
            a.get("/pkg/gik_wasm.js"),
            Some(Asset::Bytes("pkg/gik_wasm.js", b"js"))
        ));
        assert!(a.get("/../etc/passwd").is_none());
        assert!(a.get("/.gitignore").is_none());
        assert!(a.get("/nope.js").is_none());
        let d = Assets::Dir(PathBuf::from("/srv/web"));
        assert!(
            matches!(d.get("/pkg/gik_wasm.js"), Some(Asset::File(p)) if p == Path::new("/srv/web/pkg/gik_wasm.js"))
        );
        assert!(d.get("/a/../../x").is_none());
        assert!(d.get("/.git/config").is_none());
    }
}
