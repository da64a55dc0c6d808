//! Why the gateway closes a WebSocket: one variant per reason, each with its one code and text.

/// Why the gateway closes a connection. Each reason has one WebSocket close code and one text,
/// those docs/protocol.md lists; a new reason is a new variant, never a bare code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseCode {
    /// The writer ran out of frames and orders: a normal end.
    Bye,
    /// A newer connection resumed this session.
    Replaced,
    /// The gateway is shutting down (after the drain).
    ShuttingDown,
    /// No frame arrived within the heartbeat timeout.
    HeartbeatTimeout,
    /// Malformed WebSocket framing.
    ProtocolError,
    /// A text frame that is not UTF-8.
    InvalidUtf8,
    /// A frame the protocol forbids here (wrong first message, seq out of order, …).
    ProtocolViolation,
    /// Too many error frames in the budget's window.
    ErrorBudgetExceeded,
    /// No `hello` within 10 s of the upgrade.
    HelloDeadline,
    /// A client frame above the frame limit.
    MessageTooBig,
    /// The tenant has no shard to serve it.
    TenantNotServed,
    /// The connection task is stopping with the server.
    ServerStopping,
    /// The identity's tenant is not configured on its shard.
    UnknownTenant,
    /// A frame for this client exceeded what the socket can take.
    FrameTooLarge,
    /// Writing to the socket failed.
    SocketFailed,
    /// The client reads too slowly to keep its outbox within bounds.
    SlowConsumer,
    /// A write did not complete within the write timeout.
    WriteTimeout,
    /// The client fell further behind than its replay buffer holds.
    ReplayOverflow,
}

impl CloseCode {
    /// Every reason, in declaration order.
    pub const ALL: [CloseCode; 18] = [
        CloseCode::Bye,
        CloseCode::Replaced,
        CloseCode::ShuttingDown,
        CloseCode::HeartbeatTimeout,
        CloseCode::ProtocolError,
        CloseCode::InvalidUtf8,
        CloseCode::ProtocolViolation,
        CloseCode::ErrorBudgetExceeded,
        CloseCode::HelloDeadline,
        CloseCode::MessageTooBig,
        CloseCode::TenantNotServed,
        CloseCode::ServerStopping,
        CloseCode::UnknownTenant,
        CloseCode::FrameTooLarge,
        CloseCode::SocketFailed,
        CloseCode::SlowConsumer,
        CloseCode::WriteTimeout,
        CloseCode::ReplayOverflow,
    ];

    /// The WebSocket close code.
    pub fn code(self) -> u16 {
        match self {
            CloseCode::Bye | CloseCode::Replaced => 1000,
            CloseCode::ShuttingDown | CloseCode::HeartbeatTimeout => 1001,
            CloseCode::ProtocolError => 1002,
            CloseCode::InvalidUtf8 => 1007,
            CloseCode::ProtocolViolation
            | CloseCode::ErrorBudgetExceeded
            | CloseCode::HelloDeadline => 1008,
            CloseCode::MessageTooBig => 1009,
            CloseCode::TenantNotServed
            | CloseCode::ServerStopping
            | CloseCode::UnknownTenant
            | CloseCode::FrameTooLarge
            | CloseCode::SocketFailed => 1011,
            CloseCode::SlowConsumer | CloseCode::WriteTimeout | CloseCode::ReplayOverflow => 1013,
        }
    }

    /// The close code as a metrics label value (`"1008"`): one per code, so a bounded set.
    pub fn label(self) -> &'static str {
        match self {
            CloseCode::Bye | CloseCode::Replaced => "1000",
            CloseCode::ShuttingDown | CloseCode::HeartbeatTimeout => "1001",
            CloseCode::ProtocolError => "1002",
            CloseCode::InvalidUtf8 => "1007",
            CloseCode::ProtocolViolation
            | CloseCode::ErrorBudgetExceeded
            | CloseCode::HelloDeadline => "1008",
            CloseCode::MessageTooBig => "1009",
            CloseCode::TenantNotServed
            | CloseCode::ServerStopping
            | CloseCode::UnknownTenant
            | CloseCode::FrameTooLarge
            | CloseCode::SocketFailed => "1011",
            CloseCode::SlowConsumer | CloseCode::WriteTimeout | CloseCode::ReplayOverflow => "1013",
        }
    }

    /// The close frame's reason text.
    pub fn reason(self) -> &'static str {
        match self {
            CloseCode::Bye => "bye",
            CloseCode::Replaced => "replaced",
            CloseCode::ShuttingDown => "server shutting down",
            CloseCode::HeartbeatTimeout => "heartbeat timeout",
            CloseCode::ProtocolError => "WebSocket protocol error",
            CloseCode::InvalidUtf8 => "invalid UTF-8 in a text frame",
            CloseCode::ProtocolViolation => "protocol violation",
            CloseCode::ErrorBudgetExceeded => "error budget exceeded",
            CloseCode::HelloDeadline => "hello deadline: no hello within 10 s",
            CloseCode::MessageTooBig => "message too big",
            CloseCode::TenantNotServed => "tenant not served",
            CloseCode::ServerStopping => "server stopping",
            CloseCode::UnknownTenant => "unknown tenant",
            CloseCode::FrameTooLarge => "frame too large",
            CloseCode::SocketFailed => "socket failed",
            CloseCode::SlowConsumer => "slow consumer: try again later",
            CloseCode::WriteTimeout => "write timeout: slow consumer",
            CloseCode::ReplayOverflow => "replay buffer overflow: reconnect and resume",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_label_is_the_code() {
        for why in CloseCode::ALL {
            assert_eq!(why.label(), why.code().to_string(), "{why:?}");
        }
    }

    #[test]
    fn all_lists_every_reason_once() {
        // A new variant breaks this match until it is added to `ALL` too.
        let position = |why: CloseCode| match why {
            CloseCode::Bye => 0,
            CloseCode::Replaced => 1,
            CloseCode::ShuttingDown => 2,
            CloseCode::HeartbeatTimeout => 3,
            CloseCode::ProtocolError => 4,
            CloseCode::InvalidUtf8 => 5,
            CloseCode::ProtocolViolation => 6,
            CloseCode::ErrorBudgetExceeded => 7,
            CloseCode::HelloDeadline => 8,
            CloseCode::MessageTooBig => 9,
            CloseCode::TenantNotServed => 10,
            CloseCode::ServerStopping => 11,
            CloseCode::UnknownTenant => 12,
            CloseCode::FrameTooLarge => 13,
            CloseCode::SocketFailed => 14,
            CloseCode::SlowConsumer => 15,
            CloseCode::WriteTimeout => 16,
            CloseCode::ReplayOverflow => 17,
        };
        for (i, why) in CloseCode::ALL.into_iter().enumerate() {
            assert_eq!(position(why), i);
        }
    }
}
