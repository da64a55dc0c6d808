//! What `/proc` says about a process: resident memory, CPU time, threads, open-file limit.
//!
//! Linux only, like the rest of the bench. Every reader returns `None` when the file or field is
//! missing (the process exited) rather than failing: a missing figure is reported as such.

/// Clock ticks per second for `/proc/PID/stat` times. `sysconf(_SC_CLK_TCK)` is 100 on every
/// Linux architecture we run on; reading it would need libc for one constant.
const CLK_TCK: f64 = 100.0;

fn status_field(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim_start_matches(':').split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Resident set size in KiB (`VmRSS`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_field(pid, "VmRSS")
}

/// Threads of the process.
pub fn threads(pid: u32) -> Option<u64> {
    status_field(pid, "Threads")
}

/// (name, user plus system CPU seconds) from a `stat` file of a process or thread.
fn stat_cpu(path: &str) -> Option<(String, f64)> {
    let text = std::fs::read_to_string(path).ok()?;
    // The command name (field 2) may contain spaces and parentheses: fields after the last ')'
    // start at field 3 (state), so utime (14) and stime (15) are the 12th and 13th of them.
    let close = text.rfind(')')?;
    let name = text[text.find('(')? + 1..close].to_string();
    let mut fields = text[close + 1..].split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((name, (utime + stime) / CLK_TCK))
}

/// User plus system CPU seconds the process has used so far.
pub fn cpu_secs(pid: u32) -> Option<f64> {
    stat_cpu(&format!("/proc/{pid}/stat")).map(|(_, secs)| secs)
}

/// Per thread of the process: (thread id, name, CPU seconds so far).
pub fn thread_cpu_secs(pid: u32) -> Vec<(u32, String, f64)> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    dir.filter_map(|entry| {
        let tid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
        let (name, secs) = stat_cpu(&format!("/proc/{pid}/task/{tid}/stat"))?;
        Some((tid, name, secs))
    })
    .collect()
}

/// CPU seconds the whole machine has been busy (not idle, not waiting for I/O) since boot.
pub fn machine_busy_secs() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<f64> = line
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal [guest guest_nice: already in user]
    let total: f64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3)? + ticks.get(4)?;
    Some((total - idle) / CLK_TCK)
}

/// The 1-minute load average.
pub fn loadavg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The soft limit on open files of this process.
pub fn nofile_soft_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Online CPUs, as the scheduler lets this process use them.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// CPU use between two readings, in cores (1.0 = one core fully busy): of the target, of this
/// process (the generator), and of everything else on the machine, which should be close to 0
/// (anything more means another workload, e.g. a compile, disturbed the run).
#[derive(Debug, Clone)]
pub struct CpuMeter {
    target: Option<u32>,
    target_cpu: Option<f64>,
    generator_cpu: Option<f64>,
    machine_cpu: Option<f64>,
    threads: Vec<(u32, String, f64)>,
    start: std::time::Instant,
}

/// What a [`CpuMeter`] read.
#[derive(Debug, Clone, Default)]
pub struct CpuUse {
    /// The target process.
    pub target: Option<f64>,
    /// The load generator.
    pub generator: Option<f64>,
    /// The rest of the machine.
    pub other: Option<f64>,
    /// The target's busiest thread: (name, cores).
    pub busiest_thread: Option<(String, f64)>,
}

impl CpuMeter {
    /// Starts measuring.
    pub fn start(target: Option<u32>) -> Self {
        CpuMeter {
            target,
            target_cpu: target.and_then(cpu_secs),
            generator_cpu: cpu_secs(std::process::id()),
            machine_cpu: machine_busy_secs(),
            threads: target.map(thread_cpu_secs).unwrap_or_default(),
            start: std::time::Instant::now(),
        }
    }

    /// Cores used on average since `start`.
    pub fn read(&self) -> CpuUse {
        let wall = self.start.elapsed().as_secs_f64().max(1e-9);
        let rate = |now: Option<f64>, then: Option<f64>| Some((now? - then?) / wall);
        let target = rate(self.target.and_then(cpu_secs), self.target_cpu);
        let generator = rate(cpu_secs(std::process::id()), self.generator_cpu);
        let machine = rate(machine_busy_secs(), self.machine_cpu);
        let other = match (machine, generator) {
            (Some(m), Some(g)) => Some((m - g - target.unwrap_or(0.0)).max(0.0)),
            _ => None,
        };
        let busiest_thread = self
            .target
            .map(thread_cpu_secs)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(tid, name, now)| {
                let then = self.threads.iter().find(|(t, _, _)| *t == tid)?.2;
                Some((name, (now - then) / wall))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1));
        CpuUse {
            target,
            generator,
            other,
            busiest_thread,
        }
    }
}
