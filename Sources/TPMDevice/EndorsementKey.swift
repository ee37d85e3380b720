import TPM
import SignetCrypto

/// A TPM's endorsement key: the TCG default EK of one type, re-created from
/// the endorsement seed (same key every time on one TPM), and its
/// manufacturer certificate when the TPM stores one in NV.
public struct EndorsementKey: Sendable {
    public let type: TPMKeyType
    /// The EK's public area as the TPM returned it.
    public let publicArea: TPMPublic
    /// The EK certificate (DER) from NV index `type.ekCertificateNVIndex`, or nil if there is none.
    public let certificate: [UInt8]?

    public init(type: TPMKeyType, publicArea: TPMPublic, certificate: [UInt8]?) {
        self.type = type
        self.publicArea = publicArea
        self.certificate = certificate
    }

    /// The EK's public key.
    public func publicKey() throws(TPMStructureError) -> PublicKey { try publicArea.publicKey() }
}
