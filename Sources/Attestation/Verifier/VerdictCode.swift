import TPM

/// Why a round failed as a whole (as opposed to one rejected measurement):
/// a stable, machine-readable reason; the raw value is what the JSON verdict carries.
public enum VerdictCode: String, Sendable, Hashable, CaseIterable, Codable {
    /// The evidence names another AK than the one enrolled for the node.
    case akMismatch = "ak-mismatch"
    /// The enrolled AK is not usable as an AK (attributes, key).
    case akInvalid = "ak-invalid"
    /// The AK was given as a bare public key (PEM) and the evidence carries no
    /// `ak.tpm2b_public`: the key's attributes (restricted signing key of a TPM)
    /// cannot be checked.
    case akPublicAreaMissing = "ak-public-area-missing"
    /// The evidence's `nonce` field is not this round's nonce (the one the quote
    /// must carry as extraData).
    case evidenceNonceMismatch = "evidence-nonce-mismatch"
    /// The previous state was made with another AK (another node's state) or
    /// with none (written before states were bound to the AK).
    case stateAKMismatch = "state-ak-mismatch"
    /// The quote or its signature does not parse, or uses a scheme that does not fit the AK.
    case quoteMalformed = "quote-malformed"
    /// The quote's signature does not verify with the enrolled AK.
    case quoteSignatureInvalid = "quote-signature-invalid"
    /// The signed data is not a TPM-generated quote.
    case quoteNotTPMGenerated = "quote-not-tpm-generated"
    /// The quote is not for this round's nonce: replayed or foreign.
    case nonceMismatch = "nonce-mismatch"
    /// The quote leaves out PCRs the verifier requires.
    case pcrSelectionIncomplete = "pcr-selection-incomplete"
    /// A quoted PCR has no value in the evidence, or one of the wrong size.
    case pcrValuesInvalid = "pcr-values-invalid"
    /// The evidence's PCR values are not the ones the TPM signed.
    case pcrDigestMismatch = "pcr-digest-mismatch"
    /// The TPM clock, resetCount or restartCount went backwards since the last round.
    case clockBackwards = "clock-backwards"
    /// The log does not start at entry 0 although this is the first round or the node rebooted.
    case logNotFromStart = "log-not-from-start"
    /// The log does not continue where the last round stopped.
    case logGap = "log-gap"
    /// The stored state cannot be used to resume (other banks, byte order, corrupt values).
    case stateMismatch = "state-mismatch"
    /// The quote does not cover the IMA PCR in any bank the verifier can replay.
    case imaPCRNotQuoted = "ima-pcr-not-quoted"
    /// The log bytes do not parse (truncated, hostile lengths, unknown template).
    case logMalformed = "log-malformed"
    /// An entry's template data does not hash to its stored template digest: edited.
    case templateDigestMismatch = "template-digest-mismatch"
    /// Replaying the log never produces the quoted PCR value: entries were
    /// edited, removed, reordered or added.
    case logDoesNotMatchQuote = "log-does-not-match-quote"
    /// One or more measurements were rejected (listed in `entryFailures`).
    case entriesRejected = "entries-rejected"
    /// The reference judges the boot and the evidence carries no firmware event log.
    case bootEventLogMissing = "boot-event-log-missing"
    /// The evidence's firmware event log does not parse (the error names the event and byte).
    case bootEventLogMalformed = "boot-event-log-malformed"
    /// The measured boot failed its judgement (listed in `Verdict.boot.failures`): the log's
    /// replay does not reach the quoted PCRs, or what it shows is not an allowed boot.
    case bootRejected = "boot-rejected"

    /// The verdict code for a quote check failure.
    init(_ code: QuoteVerificationError.Code) {
        switch code {
        case .akAttributesInvalid, .akUnusable: self = .akInvalid
        case .malformedSignature, .unsupportedSignatureScheme, .signatureAlgorithmMismatch, .malformedAttest:
            self = .quoteMalformed
        case .signatureInvalid: self = .quoteSignatureInvalid
        case .notTPMGenerated, .notAQuote: self = .quoteNotTPMGenerated
        case .nonceMismatch: self = .nonceMismatch
        case .pcrSelectionIncomplete: self = .pcrSelectionIncomplete
        case .missingPCRValue: self = .pcrValuesInvalid
        case .pcrDigestMismatch: self = .pcrDigestMismatch
        }
    }
}
