//! CCSDS 121.0-B adaptive entropy decoding (AEC) for GRIB2 template 5.42,
//! bit-compatible with libaec, the library ecCodes uses.
//!
//! The coded stream is a sequence of coded data sets (CDS), one per block of
//! `block_size` samples. Each CDS starts with an option identifier of
//! `id_len` bits:
//!
//! | id | option |
//! |---|---|
//! | `0` + bit `0` | zero block(s): a fundamental sequence (FS) gives the run length |
//! | `0` + bit `1` | second extension: one FS code per pair of samples |
//! | `1 ..= max-1` | split sample, `k = id - 1`: all FS codes of the high parts, then all `k`-bit low parts |
//! | all ones | uncompressed: `block_size` samples of `bits_per_sample` bits |
//!
//! With preprocessing (`AEC_DATA_PREPROCESS`), the first block of every
//! reference sample interval (RSI, `rsi` blocks) carries a raw reference
//! sample right after the option identifier (after the extension bit for the
//! low-entropy options; as the first sample of an uncompressed block), and
//! the other samples are mapped prediction residuals of a unit-delay
//! predictor, undone here block by block.
//!
//! Design (measured on 0.25° ECMWF fields): the stream is read by absolute
//! bit position with 64-bit big-endian loads; past the end it reads as
//! zeros, and every loop checks its position against the end, so no input
//! can make it spin, panic or allocate more than `n_samples` values.
//! Fundamental sequences are decoded a byte at a time through a 256-entry
//! table (code lengths copied eight at a time, the output index advanced by
//! the number of codes ending in the byte), so the serial dependency is one
//! addition per byte rather than one bit scan per code. For the split
//! option, one instance per `k` (constant shifts) extracts the low bits,
//! several per 64-bit load, and runs the inverse preprocessor as a plain
//! prefix sum; whether that was exact (no residual reached past a range
//! end) is then checked per block, cheaply from the sum of the residuals
//! or exactly in a vectorisable pass, and only blocks near the range ends
//! take the exact, branch-free mapping.
//!
//! Short input is handled as libaec handles it: samples are produced as
//! long as the bits they depend on are present, so a stream cut right after
//! the last needed sample of a partial last block decodes (ecCodes relies on
//! this), and one cut earlier is [`UnpackError::ShortData`].
//!
//! Output samples are the `bits_per_sample`-bit codes; for signed data
//! (`AEC_DATA_SIGNED`) the `bits_per_sample`-bit two's complement pattern.
//! (libaec itself writes preprocessed signed samples sign-extended to its
//! output byte width and unpreprocessed ones as the n-bit pattern; ecCodes
//! never sets the flag.)

use crate::UnpackError;

/// Samples are signed.
const AEC_DATA_SIGNED: u32 = 1;
// AEC_DATA_3BYTE (2) and AEC_DATA_MSB (4) only describe libaec's output byte
// layout; the coded stream does not depend on them.
/// The unit-delay predictor and mapping were applied.
const AEC_DATA_PREPROCESS: u32 = 8;
/// Restricted set of code options for 1–4 bit samples.
const AEC_RESTRICTED: u32 = 16;
/// Every RSI starts on a byte boundary.
const AEC_PAD_RSI: u32 = 32;

/// The zero-block run length code meaning "to the end of the segment" (remainder of segment).
const ROS: u64 = 5;
/// Largest block size libaec encodes (with `AEC_NOT_ENFORCE`).
const MAX_BLOCK: usize = 256;
/// Largest valid second-extension FS code.
const SE_MAX: u32 = 90;
/// Valid bits per FS window.
const WINDOW: u64 = 56;

/// Second extension: FS code `m` → (β, β(β+1)/2) with β(β+1)/2 ≤ m ≤ β(β+1)/2 + β.
const SE_TABLE: [(u32, u32); SE_MAX as usize + 1] = se_table();

const fn se_table() -> [(u32, u32); SE_MAX as usize + 1] {
    let mut t = [(0, 0); SE_MAX as usize + 1];
    let mut k = 0;
    let mut beta = 0;
    while beta < 13 {
        let ms = k;
        let mut j = 0;
        while j <= beta {
            t[k] = (beta as u32, ms as u32);
            k += 1;
            j += 1;
        }
        beta += 1;
    }
    t
}

/// Decodes `n_samples` samples of `bits_per_sample` bits from a CCSDS/AEC stream.
///
/// `flags` are libaec's (GRIB's `ccsdsFlags`), `block_size` is in samples and
/// `rsi` in blocks. `out` is cleared and holds exactly `n_samples` values
/// on success.
///
/// # Errors
/// [`UnpackError::BadParameter`] for parameters libaec refuses,
/// [`UnpackError::ShortData`] if the stream ends before the last sample,
/// [`UnpackError::Corrupt`] for an impossible code.
#[allow(clippy::too_many_arguments)]
pub(crate) fn decode(
    data: &[u8],
    bits_per_sample: u32,
    flags: u32,
    block_size: u32,
    rsi: u32,
    n_samples: usize,
    out: &mut Vec<u32>,
) -> Result<(), UnpackError> {
    out.clear();
    let p = Params::new(bits_per_sample, flags, block_size, rsi)?;
    if n_samples == 0 {
        return Ok(());
    }
    // a CDS of a few bits can stand for up to 64 blocks; the caller usually
    // reserved `n_samples` already
    out.reserve_exact(n_samples.min(data.len().saturating_mul(64).saturating_add(1 << 16)));
    let r = Reader {
        data,
        total_bits: (data.len() as u64) * 8,
    };
    let result = p.run(&r, n_samples, out);
    if result.is_err() {
        out.clear();
    }
    result
}

/// Checked stream parameters.
struct Params {
    bits: u32,
    id_len: u32,
    /// The identifier of the uncompressed option (all ones).
    id_uncomp: u32,
    bs: usize,
    rsi: u64,
    pp: bool,
    signed: bool,
    pad: bool,
    /// `2^bits - 1`.
    mask: u32,
    xmin: i64,
    xmax: i64,
}

impl Params {
    fn new(bits: u32, flags: u32, block_size: u32, rsi: u32) -> Result<Self, UnpackError> {
        if !(1..=32).contains(&bits) {
            return Err(UnpackError::BadParameter {
                name: "bits_per_sample",
                value: i64::from(bits),
            });
        }
        if block_size == 0 || block_size & 1 != 0 || block_size as usize > MAX_BLOCK {
            return Err(UnpackError::BadParameter {
                name: "ccsdsBlockSize",
                value: i64::from(block_size),
            });
        }
        if rsi == 0 {
            return Err(UnpackError::BadParameter {
                name: "ccsdsRsi",
                value: 0,
            });
        }
        let id_len = if bits > 16 {
            5
        } else if bits > 8 {
            4
        } else if flags & AEC_RESTRICTED != 0 {
            match bits {
                1 | 2 => 1,
                3 | 4 => 2,
                // libaec refuses the restricted options for 5–8 bits
                _ => {
                    return Err(UnpackError::BadParameter {
                        name: "ccsdsFlags",
                        value: i64::from(flags),
                    })
                }
            }
        } else {
            3
        };
        let signed = flags & AEC_DATA_SIGNED != 0;
        let (xmin, xmax) = if signed {
            (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
        } else {
            (0, (1i64 << bits) - 1)
        };
        Ok(Self {
            bits,
            id_len,
            id_uncomp: (1 << id_len) - 1,
            bs: block_size as usize,
            rsi: u64::from(rsi),
            pp: flags & AEC_DATA_PREPROCESS != 0,
            signed,
            pad: flags & AEC_PAD_RSI != 0,
            mask: u32::MAX >> (32 - bits),
            xmin,
            xmax,
        })
    }

    /// The predictor state a raw reference sample starts.
    #[inline]
    fn ref_value(&self, raw: u32) -> i64 {
        let v = i64::from(raw);
        if self.signed && v > self.xmax {
            v - (1i64 << self.bits)
        } else {
            v
        }
    }

    /// The whole decode loop: one iteration per CDS (a block, or a run of zero blocks).
    fn run(&self, r: &Reader<'_>, n: usize, out: &mut Vec<u32>) -> Result<(), UnpackError> {
        let bs = self.bs;
        let bits = u64::from(self.bits);
        let mut pos: u64 = 0;
        let mut block_in_rsi: u64 = 0;
        // predictor state: the last output value (in [xmin, xmax])
        let mut last: i64 = 0;
        let mut fs = [0u32; FS_BUF];
        let mut d = [0u32; MAX_BLOCK];
        let mut tmp = [0u32; MAX_BLOCK];

        while out.len() < n {
            if pos >= r.total_bits {
                return Err(r.short(pos + u64::from(self.id_len)));
            }
            let remaining = n - out.len();
            let has_ref = self.pp && block_in_rsi == 0;
            let nref = usize::from(has_ref);
            // samples of this block that will be output
            let take = remaining.min(bs);

            let id = r.bits(pos, self.id_len);
            pos += u64::from(self.id_len);
            let mut blocks = 1u64;
            // bits the output samples of this CDS depend on
            let needed: u64;

            if id == 0 {
                let second_ext = r.bits(pos, 1) == 1;
                pos += 1;
                if has_ref {
                    let raw = r.bits(pos, self.bits);
                    pos += bits;
                    last = self.ref_value(raw);
                    out.push(raw);
                }
                let ref_end = pos;
                if out.len() >= n {
                    // only the reference sample was needed
                    if ref_end > r.total_bits {
                        return Err(r.short(ref_end));
                    }
                    break;
                }
                if !second_ext {
                    read_fs(r, &mut pos, &mut fs, 1)?;
                    let mut zb = u64::from(fs[0]) + 1;
                    let left = self.rsi - block_in_rsi;
                    if zb == ROS {
                        zb = left.min(64 - block_in_rsi % 64);
                    } else if zb > ROS {
                        zb -= 1;
                    }
                    if zb > left {
                        return Err(UnpackError::Corrupt(format!(
                            "zero-block run of {zb} blocks past the end of the reference sample interval ({left} left)"
                        )));
                    }
                    blocks = zb;
                    let count = zb * bs as u64 - nref as u64;
                    let room = (n - out.len()) as u64;
                    let fill = count.min(room) as usize;
                    let v = if self.pp {
                        (last as u32) & self.mask
                    } else {
                        0
                    };
                    out.resize(out.len() + fill, v);
                    needed = pos;
                } else {
                    // a partial last block needs only the codes of its samples
                    // (libaec decodes pairs one by one)
                    let ncodes = if take == bs {
                        bs / 2
                    } else {
                        (take - 1) / 2 + 1
                    };
                    read_fs(r, &mut pos, &mut fs, ncodes)?;
                    let mut j = 0;
                    let mut i = nref;
                    for &m in &fs[..ncodes] {
                        if m > SE_MAX {
                            return Err(UnpackError::Corrupt(format!(
                                "second-extension code {m} > {SE_MAX}"
                            )));
                        }
                        let (beta, ms) = SE_TABLE[m as usize];
                        let d1 = m - ms;
                        if i & 1 == 0 {
                            d[j] = beta - d1;
                            j += 1;
                            i += 1;
                        }
                        d[j] = d1;
                        j += 1;
                        i += 1;
                    }
                    self.emit(&d[..j], &mut last, &mut tmp, out, n);
                    needed = pos;
                }
            } else if id == self.id_uncomp {
                let start = pos;
                let mut first = 0;
                if has_ref {
                    let raw = r.bits(pos, self.bits);
                    pos += bits;
                    last = self.ref_value(raw);
                    out.push(raw);
                    first = 1;
                }
                read_raw(r, &mut pos, self.bits, &mut d[first..bs]);
                self.emit(&d[first..bs], &mut last, &mut tmp, out, n);
                needed = start + take as u64 * bits;
            } else {
                let k = id - 1;
                if has_ref {
                    let raw = r.bits(pos, self.bits);
                    pos += bits;
                    last = self.ref_value(raw);
                    out.push(raw);
                }
                if out.len() >= n {
                    if pos > r.total_bits {
                        return Err(r.short(pos));
                    }
                    break;
                }
                let m = bs - nref;
                read_fs(r, &mut pos, &mut fs, m)?;
                let fs_end = pos;
                if k == 0 {
                    self.emit(&fs[..m], &mut last, &mut tmp, out, n);
                } else if self.pp && self.xmin == 0 {
                    // the hot path: low bits, prefix sum and check in one pass
                    if !split_unmap_unsigned(
                        r, &mut pos, k, &fs, m, &mut last, self.xmax, &mut d, &mut tmp,
                    ) {
                        unmap_unsigned_exact(
                            &d[..m],
                            &mut last,
                            self.xmax,
                            self.mask,
                            &mut tmp[..m],
                        );
                    }
                    out.extend_from_slice(&tmp[..m.min(n - out.len())]);
                } else {
                    add_low_bits(r, &mut pos, k, &fs[..m], &mut d[..m]);
                    self.emit(&d[..m], &mut last, &mut tmp, out, n);
                }
                needed = fs_end + u64::from(k) * (take - nref) as u64;
            }

            if out.len() >= n {
                if needed > r.total_bits {
                    return Err(r.short(needed));
                }
                break;
            }
            if pos > r.total_bits {
                return Err(r.short(pos));
            }
            block_in_rsi += blocks;
            if block_in_rsi >= self.rsi {
                block_in_rsi = 0;
                if self.pad {
                    pos = (pos + 7) & !7;
                }
            }
        }
        Ok(())
    }

    /// Appends the samples of mapped residuals (or raw samples without
    /// preprocessing) `d`, at most up to `n` samples in `out`.
    #[inline]
    fn emit(
        &self,
        d: &[u32],
        last: &mut i64,
        tmp: &mut [u32; MAX_BLOCK],
        out: &mut Vec<u32>,
        n: usize,
    ) {
        let room = n - out.len();
        let take = d.len().min(room);
        if self.pp {
            let t = &mut tmp[..d.len()];
            if self.xmin == 0 {
                unmap_unsigned(d, last, self.xmax, self.mask, t);
            } else {
                unmap(d, last, self.xmin, self.xmax, self.mask, t);
            }
            out.extend_from_slice(&t[..take]);
        } else {
            let mask = self.mask;
            out.extend(d[..take].iter().map(|&v| v & mask));
        }
    }
}

/// Undoes the preprocessor for unsigned samples (`xmin = 0`).
///
/// The first pass assumes every residual is a plain ±delta (|delta| ≤ the
/// distance θ of the prediction to the nearer range end, by far the common
/// case): a prefix sum, the only serial dependency. That assumption is then
/// checked for the whole block, cheaply by [`no_boundary`], else exactly by
/// [`plain_deltas`]; if any residual was not a plain delta, the exact
/// mapping is redone for the block.
#[inline]
fn unmap_unsigned(d: &[u32], last: &mut i64, xmax: i64, mask: u32, t: &mut [u32]) {
    let mut x = *last as u32;
    let mut sum = 0u64;
    for (o, &dv) in t.iter_mut().zip(d) {
        sum += u64::from(dv);
        x = x.wrapping_add((dv >> 1) ^ 0u32.wrapping_sub(dv & 1));
        *o = x;
    }
    if no_boundary(*last, sum, d.len(), xmax) || plain_deltas(*last as u32, t, d, xmax) {
        *last = i64::from(x);
        return;
    }
    unmap_unsigned_exact(d, last, xmax, mask, t);
}

/// [`unmap`] for unsigned samples, branch-free: both outcomes are computed
/// and selected, so the serial dependency per sample is a few cycles.
/// Out-of-range residuals (only in corrupt streams) are wrapped into the
/// range, so the state always stays in `[0, xmax]`.
#[inline(never)]
fn unmap_unsigned_exact(d: &[u32], last: &mut i64, xmax: i64, mask: u32, t: &mut [u32]) {
    let med = (xmax >> 1) + 1;
    let m64 = i64::from(mask);
    let mut x = *last;
    for (o, &dv) in t.iter_mut().zip(d) {
        let dv = i64::from(dv);
        let half = (dv + 1) >> 1;
        let s = -(dv & 1);
        let delta = (half ^ s) - s;
        let edge_lo = dv & m64;
        let edge_hi = (xmax - dv) & m64;
        let xmh = xmax - half;
        // on the chain: two subtractions, an or, two selects
        let plain = (x - half) | (xmh - x) >= 0;
        let edge = if x < med { edge_lo } else { edge_hi };
        x = if plain { x + delta } else { edge };
        *o = x as u32;
    }
    *last = x;
}

/// Whether every mapped residual `d[i]` was a plain ±delta from its
/// prediction (`first` for `d[0]`, then `t[i - 1]`): half ≤ θ(prev), i.e.
/// prev - half ≥ 0 and xmax - half - prev ≥ 0. By induction the
/// predictions are then all exact and in range. Vectorisable.
#[inline]
fn plain_deltas(first: u32, t: &[u32], d: &[u32], xmax: i64) -> bool {
    let Some((&d0, d_rest)) = d.split_first() else {
        return true;
    };
    if xmax < 1 << 30 {
        // exact in i32 for any d: half ≤ 2^31 wraps to a negative
        let xm = xmax as i32;
        let f = |prev: u32, dv: u32| {
            let half = ((dv >> 1) + (dv & 1)) as i32;
            let prev = prev as i32;
            prev.wrapping_sub(half) | xm.wrapping_sub(half).wrapping_sub(prev)
        };
        let mut acc = f(first, d0);
        for (&prev, &dv) in t.iter().zip(d_rest) {
            acc |= f(prev, dv);
        }
        acc >= 0
    } else {
        let f = |prev: u32, dv: u32| {
            let half = i64::from((dv >> 1) + (dv & 1));
            let prev = i64::from(prev);
            (prev - half) | (xmax - half - prev)
        };
        let mut acc = f(first, d0);
        for (&prev, &dv) in t.iter().zip(d_rest) {
            acc |= f(prev, dv);
        }
        acc >= 0
    }
}

/// Undoes the preprocessor exactly (CCSDS 121.0-B §4.3, as libaec does).
#[inline(never)]
fn unmap(d: &[u32], last: &mut i64, xmin: i64, xmax: i64, mask: u32, t: &mut [u32]) {
    let span_mask = i64::from(mask);
    let mut x = *last;
    for (o, &dv) in t.iter_mut().zip(d) {
        let dv = i64::from(dv);
        let half = (dv + 1) >> 1;
        let lo = x - xmin;
        let hi = xmax - x;
        if half <= lo.min(hi) {
            let s = -(dv & 1);
            x += (half ^ s) - s;
        } else if lo <= hi {
            x = xmin + dv;
        } else {
            x = xmax - dv;
        }
        // only a corrupt stream leaves the range; keep the state in it
        x = ((x - xmin) & span_mask) + xmin;
        *o = (x as u32) & mask;
    }
    *last = x;
}

/// Reads `m` (`1..=MAX_BLOCK`) fundamental-sequence codes (a run of zeros
/// ended by a one) at bit `pos` into `fs[..m]`, advancing `pos`.
///
/// A byte at a time through [`FS_TABLE`]: the byte's code lengths are
/// copied eight at a time (`fs` has room for the overshoot) and the output
/// index advances by the number of codes ending in the byte, so the serial
/// dependency is one addition per byte, not per code.
#[inline]
fn read_fs(
    r: &Reader<'_>,
    pos: &mut u64,
    fs: &mut [u32; FS_BUF],
    m: usize,
) -> Result<(), UnpackError> {
    let m = m.clamp(1, MAX_BLOCK);
    let mut idx = 0usize;
    let mut p = *pos;
    // zeros of the current code before the current byte
    let mut carry: u32 = 0;
    loop {
        let w = r.word_at(p);
        for j in 0..7u32 {
            let b = ((w >> (56 - 8 * j)) & 0xFF) as usize;
            let before = idx & (MAX_BLOCK - 1);
            let lens = &FS_TABLE.lens[b];
            fs[before..before + 8].copy_from_slice(lens);
            fs[before] = lens[0] + carry;
            let c = usize::from(FS_TABLE.count[b]);
            idx = before + c;
            if idx >= m {
                let e = FS_TABLE.ends[b][(m - before - 1) & 7];
                *pos = p + u64::from(8 * j) + u64::from(e);
                return Ok(());
            }
            carry = if c == 0 {
                carry + 8
            } else {
                u32::from(FS_TABLE.tail[b])
            };
        }
        p += WINDOW;
        if p > r.total_bits {
            return Err(r.short(p));
        }
        if carry > u32::MAX - 2 * WINDOW as u32 {
            return Err(UnpackError::Corrupt(format!(
                "fundamental sequence code of more than {carry} bits"
            )));
        }
    }
}

/// Room for a block of FS codes plus one byte's worth of overshoot.
const FS_BUF: usize = MAX_BLOCK + 8;

/// Per byte value: the lengths of the codes ending in it (the first one
/// without the zeros carried in from earlier bytes), the bit index after
/// each code's terminating one, how many codes end in it, and the zeros after
/// its last one.
struct FsTable {
    lens: [[u32; 8]; 256],
    ends: [[u8; 8]; 256],
    count: [u8; 256],
    tail: [u8; 256],
}

static FS_TABLE: FsTable = fs_table();

const fn fs_table() -> FsTable {
    let mut t = FsTable {
        lens: [[0; 8]; 256],
        ends: [[0; 8]; 256],
        count: [0; 256],
        tail: [0; 256],
    };
    let mut b = 0;
    while b < 256 {
        let mut c = 0;
        let mut start = 0;
        let mut i = 0;
        while i < 8 {
            if (b >> (7 - i)) & 1 == 1 {
                t.lens[b][c] = (i - start) as u32;
                t.ends[b][c] = (i + 1) as u8;
                start = i + 1;
                c += 1;
            }
            i += 1;
        }
        t.count[b] = c as u8;
        t.tail[b] = (8 - start) as u8;
        b += 1;
    }
    t
}

/// `d[i] = (fs[i] << k) | next k bits`, for the split-sample option (`1 <= k <= 32`).
///
/// One 64-bit load serves `56 / k` samples.
#[inline]
fn add_low_bits(r: &Reader<'_>, pos: &mut u64, k: u32, fs: &[u32], d: &mut [u32]) {
    let mut p = *pos;
    let per_load = (WINDOW as u32 / k) as usize;
    let down = 64 - k;
    for (dc, fc) in d.chunks_mut(per_load).zip(fs.chunks(per_load)) {
        let mut w = r.word_at(p);
        for (o, &f) in dc.iter_mut().zip(fc) {
            *o = (f << (k & 31)) | (w >> down) as u32;
            w <<= k;
        }
        p += u64::from(k) * dc.len() as u64;
    }
    *pos = p;
}

/// The split-sample low bits (`d`, advancing `pos`) fused with
/// [`unmap_unsigned`]'s fast pass, writing the samples to `t`. Returns
/// `false` (with `last` untouched) if the block needs the exact mapping.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn split_unmap_unsigned(
    r: &Reader<'_>,
    pos: &mut u64,
    k: u32,
    fs: &[u32; FS_BUF],
    m: usize,
    last: &mut i64,
    xmax: i64,
    d: &mut [u32; MAX_BLOCK],
    t: &mut [u32; MAX_BLOCK],
) -> bool {
    // one instance per k, so that every shift is by a constant
    macro_rules! by_k {
        ($($k:literal)*) => {
            match k {
                $($k => split_prefix_k::<$k>(r, *pos, fs, m, *last as u32, d, t),)*
                // (k ≤ 2^5 - 3 = 29 by construction; just in case, the exact path)
                _ => {
                    add_low_bits(r, pos, k, &fs[..m], &mut d[..m]);
                    return false;
                }
            }
        };
    }
    let m = m.clamp(1, MAX_BLOCK);
    let (p, x, sum) =
        by_k!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29);
    *pos = p;
    if !(no_boundary(*last, sum, m, xmax) || plain_deltas(*last as u32, &t[..m], &d[..m], xmax)) {
        return false;
    }
    *last = i64::from(x);
    true
}

/// The low bits of a split block (`d`) and the prefix sums of its residuals
/// taken as plain ±deltas (`t`); returns the end position, the last sum
/// and the sum of the residuals.
#[inline(always)]
fn split_prefix_k<const K: u32>(
    r: &Reader<'_>,
    pos: u64,
    fs: &[u32; FS_BUF],
    m: usize,
    mut x: u32,
    d: &mut [u32; MAX_BLOCK],
    t: &mut [u32; MAX_BLOCK],
) -> (u64, u32, u64) {
    let m = m.min(MAX_BLOCK);
    let mut p = pos;
    let per_load = (WINDOW as u32 / K) as usize;
    let mut sum = 0u64;
    let mut i = 0;
    while i < m {
        let end = (i + per_load).min(m);
        let mut w = r.word_at(p);
        p += u64::from(K) * (end - i) as u64;
        for j in i..end {
            let dv = (fs[j] << K) | (w >> (64 - K)) as u32;
            w <<= K;
            d[j] = dv;
            sum += u64::from(dv);
            x = x.wrapping_add((dv >> 1) ^ 0u32.wrapping_sub(dv & 1));
            t[j] = x;
        }
        i = end;
    }
    (p, x, sum)
}

/// A cheap sufficient condition for [`plain_deltas`]: every prediction of
/// the block lies within `S` of `first`, where `S ≥ Σ half` bounds the sum of
/// the residuals' magnitudes, so if `[first - S, first + S]` stays in the
/// range no residual can reach past a range end.
#[inline(always)]
fn no_boundary(first: i64, sum_d: u64, m: usize, xmax: i64) -> bool {
    let s = ((sum_d + m as u64) >> 1) as i64;
    s <= first && first + s <= xmax
}

/// Reads `d.len()` raw samples of `n` bits.
#[inline]
fn read_raw(r: &Reader<'_>, pos: &mut u64, n: u32, d: &mut [u32]) {
    let mut p = *pos;
    let per_load = (WINDOW as u32 / n).max(1) as usize;
    let down = 64 - n;
    for dc in d.chunks_mut(per_load) {
        let mut w = r.word_at(p);
        for o in dc.iter_mut() {
            *o = (w >> down) as u32;
            w <<= n;
        }
        p += u64::from(n) * dc.len() as u64;
    }
    *pos = p;
}

/// Random-access big-endian bit reader; reads zeros past the end.
#[derive(Clone, Copy)]
struct Reader<'a> {
    data: &'a [u8],
    total_bits: u64,
}

impl Reader<'_> {
    /// The 8 bytes starting at `byte`, big-endian (zero past the end).
    #[inline(always)]
    fn word(&self, byte: usize) -> u64 {
        match self.data.get(byte..).and_then(<[u8]>::first_chunk::<8>) {
            Some(b) => u64::from_be_bytes(*b),
            None => self.word_tail(byte),
        }
    }

    #[cold]
    #[inline(never)]
    fn word_tail(&self, byte: usize) -> u64 {
        let mut b = [0u8; 8];
        if let Some(rest) = self.data.get(byte..) {
            let n = rest.len().min(8);
            b[..n].copy_from_slice(&rest[..n]);
        }
        u64::from_be_bytes(b)
    }

    /// 64 bits starting at bit `pos`, of which the top 57 are valid.
    #[inline(always)]
    fn word_at(&self, pos: u64) -> u64 {
        self.word((pos >> 3) as usize) << (pos & 7)
    }

    /// The `n` bits (`1..=32`) at bit `pos`.
    #[inline(always)]
    fn bits(&self, pos: u64, n: u32) -> u32 {
        (self.word_at(pos) >> (64 - n)) as u32
    }

    #[cold]
    fn short(&self, needed: u64) -> UnpackError {
        UnpackError::ShortData {
            needed,
            available: self.total_bits,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/ccsds/aec_fixtures.bin"
    );
    const KINDS: [&str; 7] = [
        "random", "smooth", "constant", "zeroruns", "extreme", "lowent", "edgewalk",
    ];

    struct Fixture {
        bits: u32,
        kind: u8,
        flags: u32,
        block_size: u32,
        rsi: u32,
        n: usize,
        enc: Vec<u8>,
        min_len: usize,
        expected: Vec<u32>,
    }

    impl Fixture {
        fn name(&self) -> String {
            format!(
                "bits={} flags={} bs={} rsi={} n={} kind={}",
                self.bits,
                self.flags,
                self.block_size,
                self.rsi,
                self.n,
                KINDS[usize::from(self.kind)]
            )
        }
        fn decode(&self, data: &[u8]) -> Result<Vec<u32>, UnpackError> {
            let mut out = vec![7; 3];
            decode(
                data,
                self.bits,
                self.flags,
                self.block_size,
                self.rsi,
                self.n,
                &mut out,
            )
            .map(|()| out)
        }
    }

    fn u32le(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }
    fn u16le(b: &[u8], at: usize) -> u32 {
        u32::from(u16::from_le_bytes([b[at], b[at + 1]]))
    }

    /// MSB-first unpacking, independent of the decoder's reader.
    fn unpack(b: &[u8], bits: u32, n: usize) -> Vec<u32> {
        let mut v = Vec::with_capacity(n);
        let mut bit = 0usize;
        for _ in 0..n {
            let mut x = 0u64;
            for _ in 0..bits {
                x = (x << 1) | u64::from((b[bit / 8] >> (7 - bit % 8)) & 1);
                bit += 1;
            }
            v.push(x as u32);
        }
        v
    }

    fn fixtures() -> Vec<Fixture> {
        let b = std::fs::read(FIXTURES).expect("run tests/ccsds/gen_aec_fixtures.py");
        assert_eq!(&b[..8], b"GIKAEC01");
        let count = u32le(&b, 8) as usize;
        let mut at = 12;
        let mut v = Vec::with_capacity(count);
        for _ in 0..count {
            let bits = u32::from(b[at]);
            let kind = b[at + 1];
            let flags = u16le(&b, at + 2);
            let block_size = u16le(&b, at + 4);
            let rsi = u16le(&b, at + 6);
            let n = u32le(&b, at + 8) as usize;
            let enc_len = u32le(&b, at + 12) as usize;
            let min_len = u32le(&b, at + 16) as usize;
            at += 20;
            let enc = b[at..at + enc_len].to_vec();
            at += enc_len;
            let packed = (n * bits as usize).div_ceil(8);
            let expected = unpack(&b[at..at + packed], bits, n);
            at += packed;
            v.push(Fixture {
                bits,
                kind,
                flags,
                block_size,
                rsi,
                n,
                enc,
                min_len,
                expected,
            });
        }
        assert_eq!(at, b.len());
        v
    }

    #[test]
    fn se_table_is_triangular() {
        for (m, &(beta, ms)) in SE_TABLE.iter().enumerate() {
            assert_eq!(ms, beta * (beta + 1) / 2);
            assert!(ms as usize <= m && m <= (ms + beta) as usize);
        }
    }

    #[test]
    fn libaec_fixtures_decode_exactly() {
        let fx = fixtures();
        assert!(fx.len() > 1000);
        let mut bits_seen = [false; 33];
        for f in &fx {
            let got = f
                .decode(&f.enc)
                .unwrap_or_else(|e| panic!("{}: {e}", f.name()));
            assert_eq!(got.len(), f.n, "{}", f.name());
            if let Some(i) = (0..f.n).find(|&i| got[i] != f.expected[i]) {
                panic!(
                    "{}: sample {i}: got {} want {}",
                    f.name(),
                    got[i],
                    f.expected[i]
                );
            }
            bits_seen[f.bits as usize] = true;
        }
        assert!(bits_seen[1..].iter().all(|&s| s));
        eprintln!("{} libaec fixtures decoded exactly", fx.len());
    }

    /// The shortest prefix libaec decodes all samples from decodes here too,
    /// and one byte less fails here as it does in libaec.
    #[test]
    fn shortest_input_matches_libaec() {
        for f in fixtures() {
            let got = f
                .decode(&f.enc[..f.min_len])
                .unwrap_or_else(|e| panic!("{} (min_len {}): {e}", f.name(), f.min_len));
            assert_eq!(got, f.expected, "{}", f.name());
            if f.min_len > 0 {
                match f.decode(&f.enc[..f.min_len - 1]) {
                    Err(UnpackError::ShortData { .. }) => {}
                    other => panic!(
                        "{} cut to {}: expected ShortData, got {other:?}",
                        f.name(),
                        f.min_len - 1
                    ),
                }
            }
            // trailing bytes are ignored
            let mut longer = f.enc.clone();
            longer.extend_from_slice(&[0xA5; 9]);
            assert_eq!(
                f.decode(&longer).ok().as_ref(),
                Some(&f.expected),
                "{} + trailing bytes",
                f.name()
            );
        }
    }

    #[test]
    fn bad_parameters() {
        let mut out = Vec::new();
        let bad = |e: Result<(), UnpackError>| matches!(e, Err(UnpackError::BadParameter { .. }));
        assert!(bad(decode(&[0; 8], 0, 8, 32, 128, 4, &mut out)));
        assert!(bad(decode(&[0; 8], 33, 8, 32, 128, 4, &mut out)));
        assert!(bad(decode(&[0; 8], 12, 8, 0, 128, 4, &mut out)));
        assert!(bad(decode(&[0; 8], 12, 8, 7, 128, 4, &mut out)));
        assert!(bad(decode(&[0; 8], 12, 8, 258, 128, 4, &mut out)));
        assert!(bad(decode(&[0; 8], 12, 8, 32, 0, 4, &mut out)));
        assert!(bad(decode(&[0; 8], 6, 16 | 8, 32, 128, 4, &mut out)));
        assert!(decode(&[], 12, 8, 32, 128, 0, &mut out).is_ok() && out.is_empty());
        assert!(matches!(
            decode(&[], 12, 8, 32, 128, 1, &mut out),
            Err(UnpackError::ShortData { .. })
        ));
    }

    /// A tiny deterministic generator (xorshift64*), so the test needs no crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn check_garbage(data: &[u8], bits: u32, flags: u32, bs: u32, rsi: u32, n: usize) {
        let mut out = Vec::new();
        match decode(data, bits, flags, bs, rsi, n, &mut out) {
            Ok(()) => {
                assert_eq!(out.len(), n);
                let mask = u32::MAX >> (32 - bits);
                assert!(
                    out.iter().all(|&v| v & !mask == 0),
                    "sample wider than {bits} bits"
                );
            }
            Err(_) => assert!(out.is_empty()),
        }
    }

    /// Random garbage and truncated or bit-flipped valid streams never panic
    /// or hang, for every sample width.
    #[test]
    fn garbage_and_truncation_are_errors_not_panics() {
        let start = std::time::Instant::now();
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let flag_sets = [0, 8, 8 | 1, 1, 8 | 32, 8 | 16, 16, 14];
        for bits in 1..=32u32 {
            for &flags in &flag_sets {
                let flags = if flags & 16 != 0 && bits > 4 && bits <= 8 {
                    flags & !16
                } else {
                    flags
                };
                for trial in 0..6 {
                    let len = rng.below(if trial == 0 { 8 } else { 600 }) as usize;
                    let mut data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                    if trial % 3 == 2 {
                        // mostly zeros: long FS codes and zero-block runs
                        for b in data.iter_mut() {
                            if rng.below(8) != 0 {
                                *b = 0;
                            }
                        }
                    }
                    let bs = [8, 16, 32, 64, 2, 256][rng.below(6) as usize];
                    let rsi = [1, 2, 64, 128, 4096, 65535][rng.below(6) as usize];
                    let n = rng.below(20_000) as usize + 1;
                    check_garbage(&data, bits, flags, bs, rsi, n);
                }
            }
        }
        // valid streams, cut at every length and with flipped bits
        for f in fixtures().iter().step_by(7) {
            for cut in 0..f.enc.len() {
                check_garbage(&f.enc[..cut], f.bits, f.flags, f.block_size, f.rsi, f.n);
            }
            let mut e = f.enc.clone();
            for _ in 0..4 {
                if !e.is_empty() {
                    let i = rng.below(e.len() as u64) as usize;
                    e[i] ^= 1 << rng.below(8);
                    check_garbage(&e, f.bits, f.flags, f.block_size, f.rsi, f.n);
                }
            }
        }
        // a huge sample count over a tiny stream ends quickly
        check_garbage(&[0; 16], 16, 8, 64, 4096, 5_000_000);
        check_garbage(&[0xFF; 16], 16, 8, 64, 4096, 5_000_000);
        assert!(
            start.elapsed().as_secs() < 60,
            "garbage decoding took {:?}",
            start.elapsed()
        );
    }
}
