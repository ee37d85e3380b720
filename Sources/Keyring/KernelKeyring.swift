#if canImport(Glibc)
import Glibc
#endif
import CKeyutils
import IMAFormat
import SignetCrypto

/// Why the kernel keyring refused an operation, with the likely cause.
public struct KeyringError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Code: Equatable, Sendable {
        case notFound
        case keyRejected
        case unsupportedKeyType
        case malformedCertificate
        case permissionDenied
        case notASigningCertificate
        case failed
    }
    public let code: Code
    public let reason: String
    public var description: String { reason }
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }

    /// What to do when a keyring under the user keyring is refused (EACCES): a
    /// process that does not possess the user keyring (a systemd service, by
    /// default) may only view `_ima`, not read or search it.
    public static let notPossessedHint = "the service does not possess the user keyring: set KeyringMode=shared in the unit, or run from a login session"

    /// The error for an operation the kernel refused with `errno`; EACCES says
    /// why it happens and how to fix it.
    public static func refused(_ operation: String, errno code: Int32) -> KeyringError {
        if code == EACCES {
            return KeyringError(code: .permissionDenied, reason: "cannot \(operation): \(errnoDescription(code)); \(notPossessedHint)")
        }
        if code == EPERM {
            return KeyringError(code: .permissionDenied, reason: "cannot \(operation): \(errnoDescription(code))")
        }
        return KeyringError(code: .failed, reason: "cannot \(operation): \(errnoDescription(code))")
    }
}

/// One key in a keyring, as the kernel describes it.
public struct KeyringEntry: Sendable {
    public var serial: Int32
    public var type: String
    /// For asymmetric keys: "<subject CN>: <SKID hex>".
    public var description: String
    /// The IMA keyid, taken from the end of the SKID in the description.
    public var imaKeyID: UInt32?
}

/// A kernel keyring, reached through libkeyutils: where IMA finds the keys it
/// appraises with (`.ima` when the kernel has a trusted integrity keyring,
/// else `_ima` under the user keyring, created by early userspace).
public struct KernelKeyring: Sendable {
    public let serial: Int32
    public let name: String

    /// The keyring IMA uses on this kernel: `.ima` if the kernel made one, else
    /// `_ima` under the user keyring, created when `create` is set.
    public static func ima(create: Bool) throws -> KernelKeyring {
        if let trusted = find(name: ".ima") { return trusted }
        return try userKeyring(named: "_ima", create: create)
    }

    /// The EVM keyring, by the same rule (`.evm` or `_evm`).
    public static func evm(create: Bool) throws -> KernelKeyring {
        if let trusted = find(name: ".evm") { return trusted }
        return try userKeyring(named: "_evm", create: create)
    }

    /// A keyring named `name` linked from the user keyring; created if asked.
    /// Never replaces an existing one (add_key on an existing name would).
    public static func userKeyring(named name: String, create: Bool) throws -> KernelKeyring {
        let found = keyctl_search(KEY_SPEC_USER_KEYRING, "keyring", name, 0)
        if found > 0 { return KernelKeyring(serial: Int32(found), name: name) }
        let searchErrno = errno
        if searchErrno == EACCES {
            throw KeyringError.refused("search the user keyring for '\(name)'", errno: searchErrno)
        }
        guard create else {
            throw KeyringError(code: .notFound, reason: "no keyring '\(name)' in the user keyring (load a certificate first)")
        }
        let serial = add_key("keyring", name, nil, 0, KEY_SPEC_USER_KEYRING)
        guard serial > 0 else {
            throw KeyringError.refused("create keyring '\(name)'", errno: errno)
        }
        return KernelKeyring(serial: serial, name: name)
    }

    /// A keyring anywhere in the kernel by name (reads /proc/keys), e.g. `.ima`.
    public static func find(name: String) -> KernelKeyring? {
        let serial = find_key_by_type_and_desc("keyring", name, 0)
        return serial > 0 ? KernelKeyring(serial: serial, name: name) : nil
    }

    /// Adds an X.509 certificate (DER) as an asymmetric key. Refuses a
    /// certificate that cannot sign IMA content before asking the kernel.
    @discardableResult
    public func add(_ certificate: Certificate) throws -> Int32 {
        do {
            try certificate.checkUsableForIMASigning()
        } catch let e as CryptoError where e.code == .notASigningCertificate || e.code == .unsupportedKey {
            throw KeyringError(code: .notASigningCertificate, reason: e.description)
        } catch {
            // Expired certificates still verify in the kernel; loading them is the operator's call.
        }
        let der = certificate.der
        let serial = der.withUnsafeBytes { add_key("asymmetric", nil, $0.baseAddress, $0.count, self.serial) }
        guard serial > 0 else {
            let e = errno
            let what = "\(certificate.source) ('\(certificate.subject)', keyid \(KeyID.hex(certificate.imaKeyID)))"
            switch e {
            case ENOENT, ENOPKG:
                throw KeyringError(code: .unsupportedKeyType, reason: "the kernel cannot use \(what): its key type (\(certificate.keyAlgorithm?.description ?? "?")) is not supported by this kernel (for ECDSA it needs CONFIG_CRYPTO_ECDSA)")
            case EBADMSG:
                throw KeyringError(code: .malformedCertificate, reason: "the kernel could not parse \(what)")
            case EKEYREJECTED, ENOKEY:
                throw KeyringError(code: .keyRejected, reason: "keyring '\(name)' refused \(what): \(errnoDescription(e)); a trusted keyring (.ima) only takes certificates signed by a key in the built-in/secondary/machine keyring")
            case EACCES, EPERM:
                throw KeyringError.refused("add \(what) to keyring '\(name)'", errno: e)
            default:
                throw KeyringError(code: .failed, reason: "adding \(what) to keyring '\(name)' failed: \(errnoDescription(e))")
            }
        }
        return serial
    }

    /// The keys linked in this keyring.
    public func entries() throws -> [KeyringEntry] {
        var buffer: UnsafeMutableRawPointer?
        let length = keyctl_read_alloc(serial, &buffer)
        guard length >= 0, let buffer else {
            throw KeyringError.refused("read keyring '\(name)'", errno: errno)
        }
        defer { free(buffer) }
        let count = Int(length) / MemoryLayout<Int32>.size
        let serials = (0..<count).map { buffer.load(fromByteOffset: $0 * 4, as: Int32.self) }
        return serials.compactMap { s in
            var raw: UnsafeMutablePointer<CChar>?
            guard keyctl_describe_alloc(s, &raw) >= 0, let raw else { return nil }
            defer { free(raw) }
            // "type;uid;gid;perm;description"
            let text = String(decoding: UnsafeRawBufferPointer(start: raw, count: strlen(raw)), as: UTF8.self)
            let parts = text.split(separator: ";", maxSplits: 4, omittingEmptySubsequences: false)
            guard parts.count == 5 else { return nil }
            let description = String(parts[4])
            var keyID: UInt32?
            if parts[0] == "asymmetric", let hex = description.split(separator: " ").last, hex.count >= 8 {
                keyID = KeyID.parse(String(hex.suffix(8)))
            }
            return KeyringEntry(serial: s, type: String(parts[0]), description: description, imaKeyID: keyID)
        }
    }

    /// Unlinks this keyring from the user keyring (used to clean up test keyrings).
    public func unlinkFromUserKeyring() {
        _ = keyctl_unlink(serial, KEY_SPEC_USER_KEYRING)
    }
}

