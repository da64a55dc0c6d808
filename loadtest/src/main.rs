//! The `loadtest` package's default binary only points at the real ones.

fn main() {
    println!(
        "loadtest: the tools are separate binaries:\n  \
         gateway-bench   throughput, latency and idle-memory figures (--help)\n  \
         relay-baseline  the minimal relay Switchboard is compared to\n\
         Build them with `cargo build --release -p loadtest -p switchboard`; see loadtest/README.md."
    );
}
