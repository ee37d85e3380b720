import BootReference

/// The outcome of one attestation round: pass or fail, every reason, every
/// rejected measurement, and what was verified (quote clock, log range,
/// how entries were accepted). Render it with `textReport()` or
/// `jsonReport()`.
public struct Verdict: Sendable, Equatable {
    /// The verified quote's facts.
    public struct QuoteSummary: Sendable, Equatable {
        public var clock: UInt64
        public var resetCount: UInt32
        public var restartCount: UInt32
        public var safe: Bool
        public var firmwareVersion: UInt64
        /// The IMA PCR's quoted value per bank name.
        public var imaPCR: UInt32
        public var imaPCRValues: [String: [UInt8]]
    }

    /// What part of the log was judged.
    public struct LogSummary: Sendable, Equatable {
        /// Index of the first entry in the evidence.
        public var firstEntry: Int
        /// Entries replayed and judged this round.
        public var judgedEntries: Int
        /// The index after the last entry the quote covers (where the next round starts);
        /// nil when the log does not reproduce the quote.
        public var verifiedThrough: Int?
        /// Bytes after the matched entry (entries logged after the quote): normal, not judged.
        public var unjudgedTrailingBytes: Int
        /// How accepted entries were accepted.
        public var acceptances: [Acceptance: Int]
    }

    /// The measured boot's judgement (set when the reference judges the boot and the event log parsed).
    public struct BootSummary: Sendable, Equatable {
        /// Events in the firmware log (the Spec ID event included).
        public var events: Int
        /// The allowed chain the boot matched; nil when it failed.
        public var matchedChain: String?
        /// The SecureBoot variable as measured (nil: not measured).
        public var secureBoot: Bool?
        /// The kernel command line(s) grub measured in PCR 8.
        public var commandLines: [String]
        /// Why the boot was rejected, in log order; empty when it passed.
        public var failures: [BootFailure]

        public var passed: Bool { failures.isEmpty && matchedChain != nil }
    }

    /// Why the round failed; empty when it passed.
    public var reasons: [VerdictReason]
    /// Every rejected measurement, in log order.
    public var entryFailures: [EntryFailure]
    /// Who the node claimed to be.
    public var node: Evidence.NodeIdentity?
    /// Set once the quote verified.
    public var quote: QuoteSummary?
    /// Set once the boot was judged.
    public var boot: BootSummary?
    /// Set once the log was read.
    public var log: LogSummary?

    public init(reasons: [VerdictReason] = [], entryFailures: [EntryFailure] = [], node: Evidence.NodeIdentity? = nil,
                quote: QuoteSummary? = nil, boot: BootSummary? = nil, log: LogSummary? = nil) {
        self.reasons = reasons
        self.entryFailures = entryFailures
        self.node = node
        self.quote = quote
        self.boot = boot
        self.log = log
    }

    /// True when nothing failed.
    public var passed: Bool { reasons.isEmpty && entryFailures.isEmpty }

    /// The codes of `reasons`, for quick checks.
    public var codes: [VerdictCode] { reasons.map(\.code) }
}

/// A verdict and the state to keep for the node's next round.
public struct AttestationResult: Sendable {
    public let verdict: Verdict
    /// After a pass, the state at the verified log position and quote clock;
    /// after a failure, the previous state unchanged (so the failing entries
    /// are judged again next round, as a full verification would).
    public let state: AttestationState?
}
