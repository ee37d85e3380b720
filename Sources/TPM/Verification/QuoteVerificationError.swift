/// Why a TPM quote was not accepted: which check failed, and why. Equatable
/// on `code` only, so tests and callers match the kind of failure.
public struct QuoteVerificationError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Code: Equatable, Sendable {
        /// The AK lacks restricted|sign|fixedTPM|fixedParent: it could sign
        /// forged TPMS_ATTEST or live outside this TPM.
        case akAttributesInvalid
        /// The AK's public area cannot be used as a key (unsupported curve, bad key).
        case akUnusable
        /// The TPMT_SIGNATURE bytes do not parse.
        case malformedSignature
        /// A scheme or hash this verifier cannot check (RSAPSS, SM3, SHA-3).
        case unsupportedSignatureScheme
        /// The signature's scheme does not fit the AK (ECDSA with an RSA key, another hash than the AK's scheme).
        case signatureAlgorithmMismatch
        /// The signature does not verify over H(TPMS_ATTEST) with the AK.
        case signatureInvalid
        /// TPMS_ATTEST.magic is not TPM_GENERATED_VALUE.
        case notTPMGenerated
        /// TPMS_ATTEST.type is not TPM_ST_ATTEST_QUOTE.
        case notAQuote
        /// The TPMS_ATTEST bytes do not parse (sizes, trailing bytes, PCR selection).
        case malformedAttest
        /// TPMS_ATTEST.extraData is not the nonce: a replayed or foreign quote.
        case nonceMismatch
        /// The quote leaves out PCRs the verifier requires.
        case pcrSelectionIncomplete
        /// No value was supplied for a quoted PCR, or one of the wrong size.
        case missingPCRValue
        /// H(supplied PCR values) differs from TPMS_QUOTE_INFO.pcrDigest.
        case pcrDigestMismatch
    }

    public let code: Code
    public let reason: String
    /// The structure error behind `.malformedSignature`, `.malformedAttest`,
    /// `.notTPMGenerated`, `.notAQuote` and `.akUnusable`.
    public let structureError: TPMStructureError?

    public init(_ code: Code, _ reason: String, structureError: TPMStructureError? = nil) {
        self.code = code
        self.reason = reason
        self.structureError = structureError
    }

    public var description: String { "quote rejected: \(reason)" }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
}
