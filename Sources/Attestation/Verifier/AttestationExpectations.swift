import IMAFormat
import SignetCrypto
import TPM

/// What the verifier expects of this round, independent of the reference:
/// the nonce it issued, the AK it enrolled for the node, and the PCRs the
/// quote must cover.
public struct AttestationExpectations: Sendable {
    /// The node's enrolled attestation key.
    public enum AttestationKey: Sendable {
        /// The AK's public area (TPM2B_PUBLIC): its attributes are checked too
        /// (restricted signing key of this TPM). An `ak.tpm2b_public` in the
        /// evidence must be this same public area.
        case publicArea(TPMPublic)
        /// The AK as a bare key (`ak.pem`). A bare key has no attributes, so the
        /// evidence must carry the AK's `ak.tpm2b_public` for this same key, and
        /// the quote is checked with it (attributes and scheme included); without
        /// it the round fails with `ak-public-area-missing`.
        case publicKey(PublicKey)
    }

    /// The challenge issued for this round; the quote's extraData must equal it.
    public var nonce: [UInt8]
    public var attestationKey: AttestationKey
    /// PCRs the quote must cover. The default, `sha256:0-10`, is what the
    /// boot aggregate (0-9) and the IMA log (10) need.
    public var requiredSelection: PCRSelection
    /// The PCR IMA extends (10 unless the kernel was built otherwise).
    public var imaPCR: UInt32
    /// How the kernel extends PCRs; nil picks it from the node's kernel
    /// release (per-bank template hashes from Linux 5.8, padded SHA-1 before).
    public var extendMode: PCRExtendMode?

    public init(nonce: [UInt8], attestationKey: AttestationKey,
                requiredSelection: PCRSelection = PCRSelection(.sha256, 0...10), imaPCR: UInt32 = 10,
                extendMode: PCRExtendMode? = nil) {
        self.nonce = nonce
        self.attestationKey = attestationKey
        self.requiredSelection = requiredSelection
        self.imaPCR = imaPCR
        self.extendMode = extendMode
    }
}
