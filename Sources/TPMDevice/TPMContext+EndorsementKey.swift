import TPM
import CTSS2

extension TPMContext {
    /// Creates the TCG default EK of `type` in the endorsement hierarchy
    /// (empty endorsement auth), reads its certificate from NV if present,
    /// and flushes the key.
    public func endorsementKey(_ type: TPMKeyType) throws(TPMError) -> EndorsementKey {
        let publicArea = try withPrimary(ESYS_TR(ESYS_TR_RH_ENDORSEMENT), TPMTemplates.endorsementKey(type)) {
            (_, publicArea) throws(TPMError) in publicArea
        }
        return EndorsementKey(type: type, publicArea: publicArea, certificate: try endorsementCertificate(type))
    }

    /// The EK certificate for `type` from its TCG NV index (0x01c00002 RSA,
    /// 0x01c0000a ECC P-256), trailing zero padding removed from the DER;
    /// nil when the index is not defined.
    public func endorsementCertificate(_ type: TPMKeyType) throws(TPMError) -> [UInt8]? {
        guard let bytes = try readNV(index: type.ekCertificateNVIndex) else { return nil }
        return Self.trimDER(bytes)
    }

    /// A DER element without padding after it (some TPMs pad EK certificates in NV).
    static func trimDER(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.count >= 4, bytes[0] == 0x30 else { return bytes }
        let total: Int
        if bytes[1] < 0x80 {
            total = 2 + Int(bytes[1])
        } else {
            let n = Int(bytes[1] & 0x7f)
            guard n >= 1, n <= 3, bytes.count >= 2 + n else { return bytes }
            total = 2 + n + bytes[2..<2 + n].reduce(0) { $0 << 8 | Int($1) }
        }
        return total <= bytes.count ? Array(bytes[0..<total]) : bytes
    }
}
