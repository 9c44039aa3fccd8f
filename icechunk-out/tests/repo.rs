//! An Icechunk repository written, grown and read back through the icechunk
//! crate itself: what gik writes is what gik-core's references hold.
#![allow(clippy::unwrap_used, clippy::panic)]

use gik_core::grib::FieldMeta;
use gik_core::refs::{self, RefStore, RefValue, ScannedField};
use gik_icechunk::{Repo, Written};

fn fields(day: u8, steps: &[i64], dir: &str) -> Vec<ScannedField> {
    let mut out = Vec::new();
    for (k, &step) in steps.iter().enumerate() {
        for n in 0..3 {
            let mut meta = FieldMeta::default();
            (meta.short_name, meta.cf_var_name, meta.name) =
                ("2t".into(), "t2m".into(), "2 metre temperature".into());
            (meta.type_of_level, meta.level, meta.step_type) =
                ("heightAboveGround".into(), 2, "instant".into());
            (
                meta.reference_time.year,
                meta.reference_time.month,
                meta.reference_time.day,
            ) = (2026, 6, day);
            meta.end_step = step;
            meta.grid.grid_type = "regular_ll".into();
            (meta.grid.ni, meta.grid.nj) = (Some(4), Some(3));
            meta.number = Some(n);
            out.push(ScannedField {
                url: format!("{dir}/{day}.grib2"),
                offset: (k as u64 * 3 + n as u64) * 100,
                length: 100,
                meta,
            });
        }
    }
    out
}

fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("gik-icechunk-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// The data chunks of `t2m` by chunk index.
fn chunks(s: &RefStore) -> Vec<(Vec<u64>, RefValue)> {
    let v = s.variable("t2m/instant/heightAboveGround/t2m").unwrap();
    let mut out = Vec::new();
    for t in 0..v.shape[0] {
        for st in 0..v.shape[1] {
            for n in 0..v.shape[2] {
                if let Some(r) = s.chunk(&v.path, &[t, st, n, 0, 0]).unwrap() {
                    out.push((vec![t, st, n], r.clone()));
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn write_append_read_back() {
    let dir = scratch("rw");
    let data = dir.join("data");
    let data = data.to_str().unwrap();
    let repo_path = dir.join("f.icechunk");
    let repo = Repo::new(repo_path.to_str().unwrap()).unwrap();
    let run1 = refs::build(&fields(1, &[0, 6], data)).unwrap().store;
    let run2 = refs::build(&fields(2, &[0, 6], data)).unwrap().store;

    let w = repo.write(&run1, false).await.unwrap();
    assert!(
        matches!(w, Written::Committed { ref message, .. } if message.contains("2026-06-01T00:00Z")),
        "{w:?}"
    );
    // Not again without append.
    assert!(repo.write(&run2, false).await.is_err());
    let w = repo.write(&run2, true).await.unwrap();
    assert!(
        matches!(w, Written::Committed { ref message, .. } if message.contains("2026-06-02T00:00Z")),
        "{w:?}"
    );
    // The same run again: nothing to do.
    assert!(matches!(
        repo.write(&run2, true).await.unwrap(),
        Written::Unchanged { .. }
    ));
    // A different message for a chunk that is there: an error, nothing committed.
    let mut moved = fields(2, &[6], data);
    moved[0].offset = 12_345;
    let moved = refs::build(&moved).unwrap().store;
    assert!(repo.write(&moved, true).await.is_err());

    let info = repo.inspect().await.unwrap();
    assert_eq!(info.runs, ["2026-06-01T00:00Z", "2026-06-02T00:00Z"]);
    assert_eq!(info.snapshots.len(), 3);
    assert_eq!(info.snapshots[0].runs, ["2026-06-02T00:00Z"]);
    assert_eq!(info.containers, [format!("file://{data}/")]);

    // Read back: the same variables, axes and chunks as the two runs scanned together
    // (local paths as file:// urls).
    let back = repo.read(None).await.unwrap();
    let both = gik_icechunk::with_file_urls(
        &refs::build(&[fields(1, &[0, 6], data), fields(2, &[0, 6], data)].concat())
            .unwrap()
            .store,
    );
    let (vb, vo) = (back.variables().unwrap(), both.variables().unwrap());
    assert_eq!(vb.len(), 1);
    assert_eq!(
        (&vb[0].dims, &vb[0].shape, &vb[0].attrs),
        (&vo[0].dims, &vo[0].shape, &vo[0].attrs)
    );
    assert_eq!(back.axes(&vb[0]).unwrap(), both.axes(&vo[0]).unwrap());
    assert_eq!(chunks(&back), chunks(&both));
    assert!(
        matches!(&chunks(&back)[0].1, RefValue::Range { url, .. } if url.starts_with("file:///"))
    );
    // The first snapshot holds the first run only.
    let first = &info.snapshots[1].id;
    let old = repo.read(Some(first)).await.unwrap();
    assert_eq!(
        old.axes(&old.variables().unwrap()[0]).unwrap().time.len(),
        1
    );
    assert!(repo.read(Some("no-such-branch")).await.is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn locations() {
    assert!(gik_icechunk::is_icechunk("x/forecasts.icechunk"));
    assert!(gik_icechunk::is_icechunk("s3://b/p/forecasts.icechunk/"));
    assert!(!gik_icechunk::is_icechunk("refs.json"));
    assert!(Repo::new("s3://bucket").is_err());
    assert!(Repo::new("ftp://host/x.icechunk").is_err());
    assert!(Repo::new("s3://bucket/prefix.icechunk").is_ok());
}
