#!/usr/bin/env bash
# Mutation testing of the routing core with cargo-mutants: the functions that decide dispatch,
# assignment, capacity, the VIP reserve, offers, refusals and timers. docs/testing.md has the
# results and what each survivor means.
#
#   bash scripts/mutants.sh                 # every mutant in scope (hours on 2 cores)
#   bash scripts/mutants.sh --shard 0/3 --sharding round-robin   # the third docs/testing.md reports
#
# Extra arguments go to `cargo mutants` (e.g. `--list`, `-j 2`). Needs `cargo install
# cargo-mutants --locked`. Results land in ./mutants.out (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

# The decision functions in scope, by name, in the files listed below; refusals.rs and timers.rs
# are taken whole. `update_agent`'s index and reserve upkeep lives in `Roster::update`,
# `Roster::index` and `Roster::unindex`; the agent changes the handlers make go through the
# `Agent` and `Roster` setters named here (`connect` also through `reconnect`/`resolve_login`).
functions='update_agent|offer_timed_out|assign|connect|reconnect|resolve_login|disconnect'
functions+='|sticky_expired|hold_for_previous_agent|fire_timers|reject|accept|offer|may_take|enqueue'
functions+='|dispatch_queue|dispatch|serve_sticky|note_refusal|release|finish_wrap_up'
functions+='|set_status|holds|transfer|end|refuse_agent|give_to_bot|arrive'
setters='Roster::(update|index|unindex|accepted|hold_sticky|drop_sticky)'
setters+='|Agent::(take_offer|miss_offer|reconnect|disconnect|forgive_missed_offers)'
scope="crates/router/src/(refusals|timers)\\.rs|(in|replace) (Router::($functions)|$setters|Reserve::\\w+)( |\$)"
files=()
for f in assignment dispatch offers lifecycle handoff commands/agent commands/customer commands/mod \
  refusals timers; do
  files+=(-f "crates/router/src/$f.rs")
done

# No debug info: links in a fraction of the time. Fewer property cases: a mutant the
# properties can see is seen within the first few dozen cases.
export CARGO_PROFILE_DEV_DEBUG=0 CARGO_PROFILE_TEST_DEBUG=0 PROPTEST_CASES="${PROPTEST_CASES:-64}"

exec cargo mutants -p switchboard-router \
  "${files[@]}" -F "$scope" \
  --timeout 180 --build-timeout 400 "$@" \
  -- --lib --test router_properties --test router_scenarios --test handoff_scenarios
