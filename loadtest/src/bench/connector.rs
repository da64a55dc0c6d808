//! A connector's two tasks: the reader, which counts what comes back, and the writer, which runs
//! the jobs the controller sends it one at a time.
//!
//! The two halves are separate tasks so that a writer blocked on a full socket or waiting for
//! room in its window never stops acks and `agent_joined` from being read.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures_util::stream::{SplitSink, SplitStream};
use hdrhistogram::Histogram;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

use super::shared::{lock, next_text, ConnShared};
use super::writer::Writer;
use crate::client::{self, Ws};

/// What a connector writer is asked to do.
pub(super) enum Job {
    /// Send one opening message in each of its conversations.
    Open,
    /// Send as fast as the window allows until `until_ns`.
    Saturate {
        until_ns: u64,
        window: u64,
        batch: usize,
    },
    /// Send at a fixed rate between `start_ns` and `end_ns`.
    Paced {
        interval_ns: f64,
        start_ns: u64,
        end_ns: u64,
    },
}

/// What a job did.
pub(super) struct JobDone {
    /// How late messages were written against their intended time (paced jobs).
    pub(super) lag: Option<Histogram<u64>>,
}

pub(super) type JobReply = oneshot::Sender<Result<JobDone, String>>;

/// Reads a connector's socket until it closes: acks, agent_joined, errors.
pub(super) async fn connector_reader(mut stream: SplitStream<Ws>, me: Arc<ConnShared>) {
    let why = loop {
        let text = match next_text(&mut stream, &me.going_away).await {
            Ok(text) => text,
            Err(why) => break why,
        };
        // Hot path: a lone ack, read without parsing the frame as JSON.
        if let Some(seq) = client::ack_seq(&text) {
            me.acked.fetch_max(seq, Ordering::Relaxed);
            me.ack_frames.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        for message in client::messages(&text) {
            match message.get("type").and_then(|t| t.as_str()) {
                Some("ack") => {
                    me.ack_frames.fetch_add(1, Ordering::Relaxed);
                    if let Some(seq) = message.get("seq").and_then(|s| s.as_u64()) {
                        me.acked.fetch_max(seq, Ordering::Relaxed);
                    }
                }
                Some("agent_joined") => {
                    me.joined.fetch_add(1, Ordering::Relaxed);
                }
                Some("error") => me.error(&message.to_string()),
                _ => {}
            }
        }
    };
    *lock(&me.closed) = Some(why);
}

/// Runs a connector's jobs over its socket's write half. The first job that fails ends the task:
/// its socket is then in an unknown state, so later jobs would measure nothing true.
pub(super) async fn connector_writer(
    mut sink: SplitSink<Ws, Message>,
    me: Arc<ConnShared>,
    mut jobs: mpsc::Receiver<(Job, JobReply)>,
    index: usize,
    conversations: usize,
) {
    let mut writer = Writer::new(&mut sink, &me, index, conversations);
    while let Some((job, reply)) = jobs.recv().await {
        let result = match job {
            Job::Open => writer.open().await.map(|()| JobDone { lag: None }),
            Job::Saturate {
                until_ns,
                window,
                batch,
            } => writer
                .saturate(until_ns, window, batch)
                .await
                .map(|()| JobDone { lag: None }),
            Job::Paced {
                interval_ns,
                start_ns,
                end_ns,
            } => writer
                .paced(interval_ns, start_ns, end_ns)
                .await
                .map(|lag| JobDone { lag: Some(lag) }),
        };
        let failed = result.is_err();
        let _ = reply.send(result);
        if failed {
            return;
        }
    }
}
