/// What PCR 7 must show: Secure Boot on, the signature databases allowed,
/// the authorities that allowed the boot images.
public struct SecureBootRules: Codable, Sendable, Hashable {
    /// The SecureBoot variable event (EV_EFI_VARIABLE_DRIVER_CONFIG, EFI
    /// global variable) must be present with the value 1. Default true.
    public var required: Bool
    /// Rules on PK; nil: not judged.
    public var pk: SignatureDatabaseRule?
    /// Rules on KEK; nil: not judged.
    public var kek: SignatureDatabaseRule?
    /// Rules on db (who may sign boot images); nil: not judged.
    public var db: SignatureDatabaseRule?
    /// Rules on dbx (revocations); nil: not judged. Use `requiredEntries`
    /// for "dbx must revoke at least these" so dbx updates do not fail.
    public var dbx: SignatureDatabaseRule?
    /// Authority events (EV_EFI_VARIABLE_AUTHORITY: the db certificate that
    /// verified shim, shim's SbatLevel, MokListRT, its vendor certificate)
    /// allowed. nil: not judged. Each event's fingerprint is the SHA-256 of
    /// its certificate or hash for db/dbx/MokList authorities (the signature
    /// data after the owner GUID), else of the variable's data.
    public var authorities: [AuthorityRule]?

    public init(required: Bool = true, pk: SignatureDatabaseRule? = nil, kek: SignatureDatabaseRule? = nil,
                db: SignatureDatabaseRule? = nil, dbx: SignatureDatabaseRule? = nil, authorities: [AuthorityRule]? = nil) {
        self.required = required
        self.pk = pk
        self.kek = kek
        self.db = db
        self.dbx = dbx
        self.authorities = authorities
    }
}

/// Rules on one signature database variable (PK, KEK, db, dbx). Every
/// rule set must hold. An entry's fingerprint is the SHA-256 of its
/// certificate (EFI_CERT_X509) or the 32-byte hash itself (EFI_CERT_SHA256);
/// other signature types are fingerprinted by the SHA-256 of their data.
public struct SignatureDatabaseRule: Codable, Sendable, Hashable {
    /// The SHA-256 of the variable's whole data must be one of these. nil: not judged.
    public var exactSHA256: [BootDigest]?
    /// Every entry must be one of these (e.g. db's allowed certificate authorities). nil: not judged.
    public var allowedEntries: [BootDigest]?
    /// These entries must all be present (e.g. dbx's minimum revocation list).
    public var requiredEntries: [BootDigest]

    public init(exactSHA256: [BootDigest]? = nil, allowedEntries: [BootDigest]? = nil, requiredEntries: [BootDigest] = []) {
        self.exactSHA256 = exactSHA256
        self.allowedEntries = allowedEntries
        self.requiredEntries = requiredEntries
    }
}

/// One allowed authority event.
public struct AuthorityRule: Codable, Sendable, Hashable {
    /// The variable name the event carries (`db`, `SbatLevel`, `MokListRT`, `Shim`).
    public var name: String
    /// Its fingerprint (see `SecureBootRules.authorities`).
    public var sha256: BootDigest

    public init(name: String, sha256: BootDigest) {
        self.name = name
        self.sha256 = sha256
    }
}
