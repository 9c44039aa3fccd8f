//! `gik demo`: the whole job on bundled data — scan an ECMWF-style ensemble
//! (both IFS cycles) into references, extract every member's AIFS input
//! state, and read a real ECMWF open-data file.

use crate::{run_command_line, CliError, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Arguments of `gik demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write references and pickles.
    #[arg(long, short = 'o', default_value = "target/gik-demo")]
    pub out: PathBuf,
    /// The bundled data (default: `data/` of the gik checkout).
    #[arg(long)]
    pub data: Option<PathBuf>,
}

fn data_dir(args: &Args) -> Result<PathBuf> {
    // A folder the user names is the only one looked at: falling back to
    // another would run the demo on data they did not ask for.
    if let Some(d) = &args.data {
        return if d.join("demo/50r1").is_dir() {
            Ok(d.clone())
        } else {
            Err(CliError::Usage(format!(
                "bundled data not found in {}: it has no demo/50r1 (pass --data <checkout>/data)",
                d.display()
            )))
        };
    }
    let candidates = [
        std::env::var_os("GIK_DATA").map(PathBuf::from),
        Some(PathBuf::from("data")),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../data")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.join("demo/50r1").is_dir())
        .ok_or_else(|| {
            CliError::Usage(
                "bundled data not found: run from the gik checkout or pass --data <checkout>/data"
                    .into(),
            )
        })
}

fn gribs(dir: &Path) -> Result<Vec<String>> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map_err(CliError::io(dir))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "grib2"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    v.sort();
    Ok(v)
}

/// `gik extract` with the demo's settings: every member, preset aifs-ens,
/// float32, on the source grid.
fn extract_aifs_ens(refs: &Path, out: &Path, layout: &str, steps: Option<&str>) -> Result<()> {
    let mut argv: Vec<OsString> = vec![
        "extract".into(),
        "--refs".into(),
        refs.into(),
        "--out".into(),
        out.into(),
        "--members".into(),
        "all".into(),
        "--params".into(),
        "aifs-ens".into(),
        "--layout".into(),
        layout.into(),
        "--grid".into(),
        "0.25".into(),
    ];
    if let Some(s) = steps {
        argv.extend(["--steps".into(), s.into()]);
    }
    run_command_line(&argv)
}

/// Runs `gik demo`.
pub fn run(args: &Args) -> Result<()> {
    let t0 = Instant::now();
    let data = data_dir(args)?;
    std::fs::create_dir_all(&args.out).map_err(CliError::io(&args.out))?;
    let sample = data.join("samples/ecmwf-ifs-oper-20260310-00z-0h-surface.grib2");
    println!(
        "== 1. A real ECMWF open-data file (© ECMWF, CC-BY-4.0): {}",
        sample.display()
    );
    run_command_line(&[OsString::from("inspect"), sample.into()])?;

    for cycle in ["49r1", "50r1"] {
        let files = gribs(&data.join("demo").join(cycle))?;
        let refs = args.out.join(format!("refs-{cycle}.json"));
        println!(
            "\n== 2. Scan the {cycle} ensemble ({} files: enfo-ef{}) → {}",
            files.len(),
            if cycle == "50r1" {
                " + oper-fc control"
            } else {
                ""
            },
            refs.display()
        );
        let mut argv: Vec<OsString> = vec!["scan".into()];
        argv.extend(files.iter().map(OsString::from));
        argv.extend([
            "--out".into(),
            refs.clone().into(),
            "--split-members".into(),
        ]);
        run_command_line(&argv)?;
        run_command_line(&[OsString::from("inspect"), refs.clone().into()])?;
        let states = args.out.join(format!("states-{cycle}"));
        println!(
            "\n== 3. Extract every member's AIFS-ENS input state ({cycle}) → {}",
            states.display()
        );
        extract_aifs_ens(&refs, &states, "grid", Some("6"))?;
    }
    let aifs = args.out.join("states-50r1-aifs");
    println!(
        "\n== 4. The same as the model reads it: (2, points) per field, date − 6 h and date → {}",
        aifs.display()
    );
    extract_aifs_ens(&args.out.join("refs-50r1.json"), &aifs, "aifs", None)?;
    let pkl = args.out.join("states-50r1/input_state_member_001.pkl");
    println!(
        "\nDone in {:.1} s. Pickles are in {}/states-*/. Load one in Python (numpy only):\n",
        t0.elapsed().as_secs_f64(),
        args.out.display()
    );
    println!("    import pickle");
    println!(
        "    state = pickle.load(open(\"{}\", \"rb\"))",
        pkl.display()
    );
    println!("    print(state[\"date\"], state[\"fields\"][\"2t\"].shape, state[\"fields\"][\"z_500\"].mean())");
    Ok(())
}
