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
