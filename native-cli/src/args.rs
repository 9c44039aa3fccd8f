//! Flags that several subcommands share, each group defined once and
//! flattened into the commands' `Args` (`#[command(flatten)]`), so a flag
//! reads and behaves the same wherever it appears.

/// Which fields of one GRIB file: `--message N` or `--all` (`gik decode`,
/// `gik regrid`). Neither: the first field.
#[derive(Debug, Clone, clap::Args)]
pub struct Fields {
    /// Index of the field (the `#` column of `gik inspect`); default: the first.
    #[arg(long, short = 'm', conflicts_with = "all")]
    pub message: Option<usize>,
    /// Every field, in file order (a 2-D `(fields, points)` array in `.npy`).
    #[arg(long)]
    pub all: bool,
}

/// Progress output of long commands (`gik scan`, `gik extract`).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Progress {
    /// No progress bar or summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// An ECMWF open-data request, as the `ecmwf-opendata` client takes it
/// (`gik scan`, `gik extract`, `gik ls`): values are MARS lists (`0/to/144/by/6`, `2t/msl`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Request {
    /// ifs, aifs-single or aifs-ens [default: ifs].
    #[arg(long)]
    pub model: Option<String>,
    /// The run's day: YYYYMMDD, YYYY-MM-DD, 0 (today), -1 (yesterday), … or latest (the newest run whose objects all exist) [default: latest]. (`gik extract --refs`: the valid date of the state, 2025-01-01T06 or 2025010106; default: the latest the references allow.)
    #[arg(long)]
    pub date: Option<String>,
    /// The run's hour: 0, 6, 12 or 18 [default: 0 for a date; any run for latest].
    #[arg(long)]
    pub time: Option<String>,
    /// Steps in hours: 6, 0/6/12, 0/to/144/by/6 [default: 0].
    #[arg(long)]
    pub step: Option<String>,
    /// oper, enfo, wave, waef (scda/scwv are the pre-50r1 names of 06/18 UTC oper/wave) [default: oper, enfo for ensemble types].
    #[arg(long)]
    pub stream: Option<String>,
    /// fc, cf, pf, ef, ep, em, es [default: fc; cf/pf for an ensemble stream].
    #[arg(long = "type")]
    pub kind: Option<String>,
    /// Ensemble members: 0 (the control), 1/to/10, … [default: all].
    #[arg(long)]
    pub number: Option<String>,
    /// Parameters (shortNames): 2t/msl/t [default: all].
    #[arg(long)]
    pub param: Option<String>,
    /// Levels of fields that have one (pressure levels, soil layers): 850/500 [default: all].
    #[arg(long)]
    pub levelist: Option<String>,
    /// Resolution folder [default: 0p25].
    #[arg(long)]
    pub resol: Option<String>,
    /// Where: ecmwf (data.ecmwf.int), aws (s3://ecmwf-forecasts), azure, google (gs://ecmwf-open-data), or a root laid out like ECMWF's: a URL or a local path [default: ecmwf].
    #[arg(long)]
    pub source: Option<String>,
}

impl Request {
    /// The keywords given, as ecmwf-opendata names them.
    #[must_use]
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("model", &self.model),
            ("date", &self.date),
            ("time", &self.time),
            ("step", &self.step),
            ("stream", &self.stream),
            ("type", &self.kind),
            ("number", &self.number),
            ("param", &self.param),
            ("levelist", &self.levelist),
            ("resol", &self.resol),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
        .collect()
    }

    /// Whether any request flag is given.
    #[must_use]
    pub fn given(&self) -> bool {
        !self.pairs().is_empty() || self.source.is_some()
    }
}
