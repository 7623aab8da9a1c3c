//! Mutation fuzzing shared by the reader fuzz tests: a deterministic generator, byte mutants
//! (bit flips, edge words, truncation, duplicated and deleted runs, biased to the first 4 KiB
//! where headers and their lengths live) and structure-aware mutants of `key := value`, TOML
//! and XML text (numbers replaced by the values at their edges, lines deleted or repeated).
//! Mutant `i` of a seed depends only on the seed and `i`, so a failure reproduces from the pair.

/// xorshift64*: deterministic, so a failure reproduces from its seed.
pub struct Rng(pub u64);

impl Rng {
    /// The generator of mutant `i`.
    pub fn for_mutant(i: usize) -> Self {
        Rng(0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A byte mutant of `seed`: one to six mutations.
pub fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(6) {
        if b.is_empty() {
            break;
        }
        let pos = if rng.below(10) < 7 {
            rng.below(b.len().min(4096))
        } else {
            rng.below(b.len())
        };
        let mut put = |bytes: &[u8]| {
            for (i, byte) in bytes.iter().enumerate() {
                if pos + i < b.len() {
                    b[pos + i] = *byte;
                }
            }
        };
        match rng.below(7) {
            0 => b[pos] ^= 1 << rng.below(8),
            1 => b[pos] = [0x00, 0xFF, 0x7F, 0x80][rng.below(4)],
            2 => put(
                &[u32::MAX, 0xFFFF_FFF0, 0x8000_0000, 0, 1, rng.next() as u32][rng.below(6)]
                    .to_le_bytes(),
            ),
            3 => b.truncate(pos),
            4 => {
                let len = rng.below(64).min(b.len() - pos);
                let chunk = b[pos..pos + len].to_vec();
                b.splice(pos..pos, chunk);
            }
            5 => {
                let len = rng.below(64).min(b.len() - pos);
                b.drain(pos..pos + len);
            }
            _ => put(&[0xFFFF_u16, 0, 1, 0x8000][rng.below(4)].to_le_bytes()),
        }
    }
    b
}

/// Values at the edges of what a number in a header can hold.
pub const EDGES: [&str; 16] = [
    "0",
    "-1",
    "1",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e300",
    "-1e300",
    "4294967296",
    "4294967295",
    "18446744073709551616",
    "9223372036854775807",
    "2.5",
    "",
    "x",
];

/// A structure-aware mutant of text `seed`: one to four changes, each a number replaced by an
/// edge value, a line deleted or repeated, or a byte mutation.
pub fn mutate_text(seed: &str, rng: &mut Rng) -> Vec<u8> {
    let mut lines: Vec<String> = seed.lines().map(str::to_string).collect();
    for _ in 0..1 + rng.below(4) {
        if lines.is_empty() {
            break;
        }
        let at = rng.below(lines.len());
        match rng.below(6) {
            0..=2 => lines[at] = replace_a_number(&lines[at], rng),
            3 => {
                lines.remove(at);
            }
            4 => {
                let copy = lines[at].clone();
                lines.insert(rng.below(lines.len() + 1), copy);
            }
            _ => {
                let mutated = mutate(lines[at].as_bytes(), rng);
                lines[at] = String::from_utf8_lossy(&mutated).into_owned();
            }
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out.into_bytes()
}

/// `line` with one of its numbers (a run of digits, signs, dots and exponents) replaced by an
/// edge value; the line unchanged when it has none.
fn replace_a_number(line: &str, rng: &mut Rng) -> String {
    let bytes = line.as_bytes();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'.' | b'-' | b'+'))
            {
                i += 1;
            }
            let start = if start > 0 && bytes[start - 1] == b'-' {
                start - 1
            } else {
                start
            };
            runs.push((start, i));
        } else {
            i += 1;
        }
    }
    if runs.is_empty() {
        return line.to_string();
    }
    let (a, b) = runs[rng.below(runs.len())];
    format!(
        "{}{}{}",
        &line[..a],
        EDGES[rng.below(EDGES.len())],
        &line[b..]
    )
}

/// What a fuzz run found.
#[derive(Default)]
pub struct Report {
    pub executions: usize,
    pub errors: usize,
    pub failures: Vec<String>,
    pub slowest: std::time::Duration,
    pub slowest_mutant: usize,
}

thread_local! {
    /// Whether this thread runs mutants (its panics are counted, not printed).
    static FUZZING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Where this thread's last panic happened.
    static PANICKED_AT: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Panics on this thread recorded quietly (`true`) or reported as usual (`false`). One hook for
/// the process, installed once, so that fuzz tests running in parallel do not swap it under
/// each other; other threads' panics go to the previous hook. `TOMORS_FUZZ_VERBOSE` prints
/// every panic.
fn quiet_panics(quiet: bool) {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let verbose = std::env::var_os("TOMORS_FUZZ_VERBOSE").is_some();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !FUZZING.get() {
                return previous(info);
            }
            if verbose {
                eprintln!("{info}");
            }
            if let Some(l) = info.location() {
                PANICKED_AT.set(format!("{}:{}", l.file(), l.line()));
            }
        }));
    });
    FUZZING.set(quiet);
}

/// Runs `read` on `executions` mutants made by `make(i)`, `i` from `TOMORS_FUZZ_FIRST` (0 by
/// default, so that a long run can be split across processes): a panic, or a mutant that takes
/// more than `limit`, is a failure; `read` returns whether the reader gave a typed error.
/// Allocation aborts end the process (and the test) with the mutant's index printed first
/// when `TOMORS_FUZZ_VERBOSE` is set.
pub fn run(
    what: &str,
    executions: usize,
    limit: std::time::Duration,
    mut make: impl FnMut(usize) -> Vec<u8>,
    mut read: impl FnMut(&[u8]) -> bool,
) -> Report {
    let verbose = std::env::var_os("TOMORS_FUZZ_VERBOSE").is_some();
    quiet_panics(true);
    let mut report = Report {
        executions,
        ..Report::default()
    };
    // A long run split across processes: each takes its own range of mutants.
    let first: usize = std::env::var("TOMORS_FUZZ_FIRST")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    for i in first..first + executions {
        // A mutator bug is a failure too (its message kept quiet like the reader's).
        let Ok(mutant) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| make(i))) else {
            let at = PANICKED_AT.with_borrow(String::clone);
            report
                .failures
                .push(format!("{what}, mutant {i}: the mutator panicked at {at}"));
            continue;
        };
        if verbose {
            eprintln!("{what}: mutant {i}");
        }
        let start = std::time::Instant::now();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read(&mutant)));
        let took = start.elapsed();
        if took > report.slowest {
            report.slowest = took;
            report.slowest_mutant = i;
        }
        match outcome {
            Err(p) => {
                let message = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                let at = PANICKED_AT.with_borrow(String::clone);
                report
                    .failures
                    .push(format!("{what}, mutant {i}: panicked at {at}: {message}"));
            }
            Ok(_) if took > limit => {
                report
                    .failures
                    .push(format!("{what}, mutant {i}: took {took:?}"));
            }
            Ok(error) => report.errors += error as usize,
        }
    }
    quiet_panics(false);
    eprintln!(
        "{what}: {} mutants, {} failures, {} typed errors, slowest {:?} (mutant {})",
        report.executions,
        report.failures.len(),
        report.errors,
        report.slowest,
        report.slowest_mutant
    );
    report
}

/// Mutants per reader: `TOMORS_FUZZ_EXECUTIONS`, else `default`.
pub fn executions(default: usize) -> usize {
    std::env::var("TOMORS_FUZZ_EXECUTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
