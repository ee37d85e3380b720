import IMAFormat
import Provenance
import SignetCrypto

/// The verdict on one file's security.evm, in the terms of the kernel's EVM check.
public struct EVMAppraisal: Sendable {
    public enum Status: String, Sendable, CaseIterable {
        /// A portable signature by a trusted certificate over the file's current metadata.
        case ok
        /// No security.evm (the kernel: `missing-HMAC` once EVM is on and the file has security.ima).
        case missing
        /// A signature that cannot be valid for any metadata: wrong length for the key,
        /// an algorithm not allowed, or a type this verifier cannot check off the machine.
        case badSignature = "bad-signature"
        /// A well-formed signature by a trusted key that does not match the file's
        /// current security.ima, xattrs, uid, gid or mode: something was changed
        /// after signing, or the value was copied from another file (the kernel:
        /// `invalid-fail-immutable`).
        case metadataChanged = "metadata-changed"
        /// Signed with a key that none of the trusted certificates has.
        case unknownKey = "unknown-key"
        /// security.evm is not a valid EVM value.
        case malformed
        /// The file could not be read.
        case unreadable
    }
    public var file: WalkedFile
    public var status: Status
    public var detail: String
    public var keyID: UInt32?
}

/// Appraises security.evm as the kernel does with EVM_INIT_X509: rebuild the
/// portable input from the file's xattrs and metadata (with the same
/// "as in the image" overrides used when signing), find the key by keyid, verify.
public final class EVMAppraiser: Sendable {
    public let trust: TrustStore
    public let options: EVMSigningOptions
    public let jobs: Int
    /// Algorithms accepted; nil accepts all.
    public let allowedAlgorithms: Set<HashAlgorithm>?

    public init(trust: TrustStore, options: EVMSigningOptions = .init(), jobs: Int,
                allowedAlgorithms: Set<HashAlgorithm>? = nil) {
        self.trust = trust
        self.options = options
        self.jobs = jobs
        self.allowedAlgorithms = allowedAlgorithms
    }

    /// Appraisals in the order of `files`; nil for files not reached after an interrupt.
    public func run(_ files: [WalkedFile], interrupt: InterruptFlag? = nil,
                    progress: ProgressCounter? = nil) -> [EVMAppraisal?] {
        ParallelRunner.map(
            count: files.count, jobs: jobs, interrupt: interrupt,
            makeWorker: { () },
            body: { _, i in
                defer { progress?.addFile() }
                return self.appraise(files[i])
            })
    }

    /// One file.
    public func appraise(_ file: WalkedFile) -> EVMAppraisal {
        func verdict(_ s: EVMAppraisal.Status, _ detail: String, _ sig: IMASignature? = nil) -> EVMAppraisal {
            EVMAppraisal(file: file, status: s, detail: detail, keyID: sig?.keyID)
        }
        do throws(FileProblem) {
            let handle = try OpenFile(file.paths[0], expect: nil)
            guard let raw = try handle.xattr("security.evm") else {
                return verdict(.missing, "no security.evm")
            }
            let value: EVMXattr
            do { value = try EVMXattr(bytes: raw) } catch {
                return verdict(.malformed, error.description)
            }
            let sig: IMASignature
            switch value {
            case .hmac:
                return verdict(.badSignature, "an HMAC (type 0x02) can only be checked by the machine holding the EVM key; images need portable signatures (type 0x05)")
            case .signature(let s):
                return verdict(.badSignature, "a non-portable signature (type 0x03) covers the inode number, generation and filesystem UUID of one filesystem; images need portable signatures (type 0x05)", s)
            case .portableSignature(let s):
                sig = s
            }
            if let allowed = allowedAlgorithms, !allowed.contains(sig.hashAlgorithm) {
                return verdict(.badSignature, "hash algorithm \(sig.hashAlgorithm.name) is not allowed", sig)
            }
            let candidates = trust.certificates(for: sig.keyID)
            guard !candidates.isEmpty else {
                return verdict(.unknownKey, "keyid \(sig.keyIDHex) is not among the trusted certificates", sig)
            }
            if candidates.allSatisfy({ !Self.plausible(sig.signature, for: $0.publicKey) }) {
                return verdict(.badSignature, "a \(sig.signature.count)-byte signature cannot come from the key with keyid \(sig.keyIDHex)", sig)
            }
            let input: EVMPortableInput
            do {
                input = try EVMComputation.input(for: handle, ima: nil, options: options)
            } catch .evm(let e) where e.code == .imaMissing {
                return verdict(.metadataChanged, "security.ima is gone: a portable EVM signature covers it (the kernel refuses the file)", sig)
            }
            let digest = EVMComputation.digest(input, sig.hashAlgorithm)
            if let cert = trust.verifier(of: sig, digest: digest) {
                return verdict(.ok, "portable EVM signature by '\(cert.subject)' (keyid \(sig.keyIDHex), \(sig.hashAlgorithm.name)) over \(Self.describe(input))", sig)
            }
            return verdict(.metadataChanged, "the signature by keyid \(sig.keyIDHex) does not match the current metadata (\(Self.describe(input))): mode, owner, capabilities, label or security.ima changed since signing, or security.evm was copied from another file", sig)
        } catch {
            return verdict(.unreadable, error.description)
        }
    }

    /// What was hashed, for messages: `security.ima, uid 0, gid 0, mode 100755`.
    static func describe(_ input: EVMPortableInput) -> String {
        (input.xattrs.map { $0.name.name } + ["uid \(input.uid)", "gid \(input.gid)", "mode \(String(input.mode, radix: 8))"])
            .joined(separator: ", ")
    }

    /// RSA signatures are exactly the modulus size; ECDSA DER is a SEQUENCE of bounded size.
    static func plausible(_ signature: [UInt8], for key: PublicKey) -> Bool {
        switch key.algorithm {
        case .rsa(let bits): return signature.count == (bits + 7) / 8
        case .ecdsa(let curve):
            let max = curve == .p256 ? 72 : 104
            return signature.first == 0x30 && signature.count >= 8 && signature.count <= max
        case nil: return true
        }
    }
}
