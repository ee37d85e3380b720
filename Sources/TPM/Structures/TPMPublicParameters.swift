/// TPMS_RSA_PARMS.
public struct TPMRSAParameters: Hashable, Sendable {
    public let symmetric: TPMSymmetricDefinition
    public let scheme: TPMScheme
    public let keyBits: UInt16
    /// The public exponent; 0 means the default 65537.
    public let exponent: UInt32

    public init(symmetric: TPMSymmetricDefinition, scheme: TPMScheme, keyBits: UInt16, exponent: UInt32) {
        self.symmetric = symmetric
        self.scheme = scheme
        self.keyBits = keyBits
        self.exponent = exponent
    }

    /// The exponent in effect (65537 when the field is 0).
    public var effectiveExponent: UInt32 { exponent == 0 ? 65537 : exponent }
}

/// TPMS_ECC_PARMS.
public struct TPMECCParameters: Hashable, Sendable {
    public let symmetric: TPMSymmetricDefinition
    public let scheme: TPMScheme
    public let curve: TPMECCCurve
    public let kdf: TPMScheme

    public init(symmetric: TPMSymmetricDefinition, scheme: TPMScheme, curve: TPMECCCurve, kdf: TPMScheme = .null) {
        self.symmetric = symmetric
        self.scheme = scheme
        self.curve = curve
        self.kdf = kdf
    }
}
