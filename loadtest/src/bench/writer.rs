//! A connector writer's jobs: open its conversations, saturate within the delivery window, send
//! at a fixed rate (the open model).
//!
//! The writer owns its socket's write half, its `seq` and its message counter; nothing else
//! writes to that socket, so seqs stay consecutive across jobs.

use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::stream::SplitSink;
use futures_util::SinkExt;
use hdrhistogram::Histogram;
use tokio_tungstenite::tungstenite::Message;

use super::shared::ConnShared;
use super::STALL;
use crate::client::{self, Ws};
use crate::clock::now_ns;
use crate::report::histogram;

/// One connector's write half and the state its jobs carry from one to the next.
pub(super) struct Writer<'a> {
    sink: &'a mut SplitSink<Ws, Message>,
    me: &'a ConnShared,
    index: usize,
    conversations: usize,
    seq: u64,
    counter: u64,
    buf: String,
}

impl<'a> Writer<'a> {
    pub(super) fn new(
        sink: &'a mut SplitSink<Ws, Message>,
        me: &'a ConnShared,
        index: usize,
        conversations: usize,
    ) -> Self {
        Writer {
            sink,
            me,
            index,
            conversations,
            seq: 1, // hello was 1
            counter: 0,
            buf: String::with_capacity(64 * 1024),
        }
    }

    /// Appends the next measured message to `buf`, round robin over the conversations.
    fn push(&mut self, marker: char, conversation: usize, intended_ns: u64, sent_ns: u64) {
        self.seq += 1;
        self.counter += 1;
        client::push_customer_message(
            &mut self.buf,
            self.seq,
            self.index,
            conversation,
            marker,
            self.counter,
            intended_ns,
            sent_ns,
        );
    }

    /// Queues `buf` as one frame, without flushing: the caller decides when a write goes out.
    async fn feed(&mut self) -> Result<(), String> {
        let frame = std::mem::take(&mut self.buf);
        self.sink
            .feed(Message::text(frame))
            .await
            .map_err(|e| format!("send failed: {e}"))
    }

    async fn flush(&mut self) -> Result<(), String> {
        self.sink
            .flush()
            .await
            .map_err(|e| format!("send failed: {e}"))
    }

    /// Sends one opening message in each of this connector's conversations, one frame each,
    /// flushed in groups of 64.
    pub(super) async fn open(&mut self) -> Result<(), String> {
        for conversation in 0..self.conversations {
            let now = now_ns();
            self.push('o', conversation, now, now);
            self.feed().await?;
            if conversation % 64 == 63 {
                self.flush().await?;
            }
        }
        self.flush().await
    }

    /// Appends `batch` measured messages stamped `stamp_ns`, as one frame: a lone object, or an
    /// array when `batch` > 1 (the protocol's batch frame).
    fn push_batch(&mut self, batch: usize, stamp_ns: u64) {
        if batch > 1 {
            self.buf.push('[');
        }
        for k in 0..batch {
            if k > 0 {
                self.buf.push(',');
            }
            let conversation = (self.counter as usize) % self.conversations;
            self.push('m', conversation, stamp_ns, stamp_ns);
        }
        if batch > 1 {
            self.buf.push(']');
        }
    }

    /// Sends frames of `batch` messages as fast as the delivery window allows, until
    /// `until_ns`; fails if the window stays full for [`STALL`].
    pub(super) async fn saturate(
        &mut self,
        until_ns: u64,
        window: u64,
        batch: usize,
    ) -> Result<(), String> {
        let batch = batch.max(1);
        let mut unflushed = 0;
        while now_ns() < until_ns {
            let sent = self.me.sent.load(Ordering::SeqCst);
            let delivered = self.me.delivered.load(Ordering::SeqCst);
            if sent.saturating_sub(delivered) + batch as u64 > window {
                // Window full: push out what is buffered, then wait until a quarter of the
                // window has drained (hysteresis: one wake-up per refill, not per message).
                self.flush().await?;
                unflushed = 0;
                let mark = (sent + batch as u64 + window / 4).saturating_sub(window);
                if !self.me.wait_delivered(mark).await {
                    return Err(format!(
                        "no delivery for {STALL:?} with {} messages in flight: the target stalled",
                        sent.saturating_sub(delivered)
                    ));
                }
                continue;
            }
            self.push_batch(batch, now_ns());
            self.me.sent.fetch_add(batch as u64, Ordering::SeqCst);
            self.feed().await?;
            unflushed += batch;
            // Flush in groups: one write syscall for several frames, as a busy connector would.
            if unflushed >= 32 {
                self.flush().await?;
                unflushed = 0;
            }
        }
        self.flush().await
    }

    /// Sends messages intended every `interval_ns` from `start_ns` until `end_ns`, woken by the
    /// pacer; returns how late each was written against its intended time.
    pub(super) async fn paced(
        &mut self,
        interval_ns: f64,
        start_ns: u64,
        end_ns: u64,
    ) -> Result<Histogram<u64>, String> {
        let mut lag = histogram();
        let mut k: u64 = 0;
        loop {
            let now = now_ns();
            if now >= end_ns {
                break;
            }
            if now >= start_ns {
                // Every message whose intended time has come, each stamped with that time.
                let due = ((now - start_ns) as f64 / interval_ns) as u64 + 1;
                let mut wrote = false;
                while k < due {
                    let intended = start_ns + (k as f64 * interval_ns) as u64;
                    if intended >= end_ns {
                        break;
                    }
                    let conversation = (self.counter as usize) % self.conversations;
                    let sent = now_ns();
                    self.push('m', conversation, intended, sent);
                    self.me.sent.fetch_add(1, Ordering::SeqCst);
                    self.feed().await?;
                    lag.saturating_record(sent.saturating_sub(intended).max(1));
                    k += 1;
                    wrote = true;
                }
                if wrote {
                    self.flush().await?;
                }
            }
            // The pacer ticks every few hundred microseconds; the timeout only guards against a
            // pacer that died.
            let _ = tokio::time::timeout(Duration::from_millis(50), self.me.pace.notified()).await;
        }
        self.flush().await?;
        Ok(lag)
    }
}
