import IMAFormat
import SignetCrypto

/// What a node's keyrings may receive: IMA measures every key added to a
/// keyring a `measure func=KEY_CHECK` rule covers as an `ima-buf` entry
/// named after the keyring (`.ima`, `_ima`, `.builtin_trusted_keys`, …)
/// whose buffer is the key's certificate (DER). A key the enterprise did not
/// issue in `.ima` means files signed by an unknown party will be trusted by
/// the kernel.
public struct KeyringReference: Sendable {
    /// Keyring names keys may be added to; nil allows any keyring.
    public var allowed: Set<String>?
    /// Keyrings whose key measurements are not judged (Keylime's
    /// `ignored_keyrings`; `*` ignores all).
    public var ignored: Set<String>
    /// Certificates expected in key measurements besides those of the trust
    /// store (for example the distribution's module-signing key in `.builtin_trusted_keys`).
    public var certificates: [Certificate]
    /// Known digests of key data per keyring (Keylime's `keyrings`): the
    /// digest IMA records for the buffer, with its algorithm.
    public var digests: [String: Set<AlgorithmDigest>]

    public init(allowed: Set<String>? = nil, ignored: Set<String> = [], certificates: [Certificate] = [],
                digests: [String: Set<AlgorithmDigest>] = [:]) {
        self.allowed = allowed
        self.ignored = ignored
        self.certificates = certificates
        self.digests = digests
    }

    /// True when key measurements for `keyring` are not judged.
    public func ignores(_ keyring: String) -> Bool { ignored.contains("*") || ignored.contains(keyring) }
}
