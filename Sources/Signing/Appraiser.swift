import IMAFormat
import Provenance
import SignetCrypto

/// The verdict for one file, in the words the kernel's appraisal would use.
public struct Appraisal: Sendable {
    public enum Status: String, Sendable, CaseIterable {
        /// A valid signature by a trusted certificate over the current content.
        case ok
        /// No security.ima: the kernel refuses it under an imasig policy.
        case unsigned
        /// A signature that does not match the content (altered file or signature).
        case badSignature = "bad-signature"
        /// Signed with a key that none of the trusted certificates has.
        case unknownKey = "unknown-key"
        /// A hash, not a signature: refused under appraise_type=imasig.
        case digestOnly = "digest-only"
        /// security.ima is not a valid IMA value.
        case malformed
        /// The file could not be read.
        case unreadable
    }
    public var file: WalkedFile
    public var status: Status
    public var detail: String
    public var keyID: UInt32?
    public var hashAlgorithm: HashAlgorithm?
    /// For `.digestOnly`: whether the stored hash matches the content (a
    /// policy without appraise_type=imasig accepts such a file).
    public var hashMatches: Bool?
}

/// Appraises files as the kernel would with appraise_type=imasig: read
/// security.ima, recompute the digest with the algorithm its header names,
/// find the key by keyid, verify.
public final class Appraiser: Sendable {
    public let trust: TrustStore
    public let selection: FileSelection.Mode
    public let jobs: Int
    /// Algorithms accepted in signatures (like the policy's appraise_algos); nil accepts all.
    public let allowedAlgorithms: Set<HashAlgorithm>?

    public init(trust: TrustStore, selection: FileSelection.Mode = .all, jobs: Int,
                allowedAlgorithms: Set<HashAlgorithm>? = nil) {
        self.trust = trust
        self.selection = selection
        self.jobs = jobs
        self.allowedAlgorithms = allowedAlgorithms
    }

    private struct Worker {
        var digesters: [HashAlgorithm: Digester] = [:]
        let buffer: UnsafeMutableRawBufferPointer
        mutating func digester(_ a: HashAlgorithm) -> Digester {
            if let d = digesters[a] { return d }
            let d = Digester(a)
            digesters[a] = d
            return d
        }
    }

    /// Appraisals in the order of `files`; `nil` for files not appraised
    /// (not code under `--select code`, or not reached after an interrupt).
    public func run(_ files: [WalkedFile], interrupt: InterruptFlag? = nil,
                    progress: ProgressCounter? = nil) -> [Appraisal?] {
        let buffers = BufferPool()
        return ParallelRunner.map(
            count: files.count, jobs: jobs, interrupt: interrupt,
            makeWorker: { Worker(buffer: buffers.make()) },
            body: { worker, i in
                defer { progress?.addFile() }
                return self.appraise(files[i], worker: &worker)
            }).map { $0 ?? nil }
    }

    private func appraise(_ file: WalkedFile, worker: inout Worker) -> Appraisal? {
        func verdict(_ s: Appraisal.Status, _ detail: String, _ sig: IMASignature? = nil) -> Appraisal {
            Appraisal(file: file, status: s, detail: detail, keyID: sig?.keyID, hashAlgorithm: sig?.hashAlgorithm)
        }
        do throws(FileProblem) {
            let handle = try OpenFile(file.paths[0], expect: nil)
            if selection == .code && file.codeHint == .checkELFHeader {
                let n = try handle.readHeader(into: worker.buffer)
                if !FileSelection.isELFCode(header: UnsafeRawBufferPointer(rebasing: worker.buffer[0..<n])) { return nil }
            }
            guard let raw = try handle.xattr("security.ima") else {
                return verdict(.unsigned, "no security.ima")
            }
            let value: IMAXattr
            do { value = try IMAXattr(bytes: raw) } catch {
                return verdict(.malformed, "\(error)")
            }
            switch value {
            case .legacyDigest, .digest:
                let algorithm: HashAlgorithm
                let stored: [UInt8]
                if case .digest(let a, let d) = value { algorithm = a; stored = d } else { algorithm = .sha1; stored = Array(raw.dropFirst()) }
                let (digest, _) = try handle.hash(with: worker.digester(algorithm), buffer: worker.buffer)
                var result = verdict(.digestOnly, digest == stored
                    ? "\(algorithm.name) hash matches, but a hash is not a signature (refused under appraise_type=imasig)"
                    : "\(algorithm.name) hash does not match the content")
                result.hashAlgorithm = algorithm
                result.hashMatches = digest == stored
                return result
            case .evmHMAC:
                return verdict(.malformed, "an EVM HMAC (type 0x02) is not a valid security.ima value")
            case .signature(let sig):
                guard sig.kind == .ima else {
                    return verdict(.malformed, "type 0x\(String(sig.kind.rawValue, radix: 16)) signatures belong in security.evm or to fs-verity", sig)
                }
                guard sig.version == 2 else {
                    return verdict(.badSignature, "signature version \(sig.version) is not supported by this verifier", sig)
                }
                if let allowed = allowedAlgorithms, !allowed.contains(sig.hashAlgorithm) {
                    return verdict(.badSignature, "hash algorithm \(sig.hashAlgorithm.name) is not allowed", sig)
                }
                let candidates = trust.certificates(for: sig.keyID)
                guard !candidates.isEmpty else {
                    return verdict(.unknownKey, "keyid \(sig.keyIDHex) is not among the trusted certificates", sig)
                }
                let (digest, _) = try handle.hash(with: worker.digester(sig.hashAlgorithm), buffer: worker.buffer)
                if let cert = trust.verifier(of: sig, digest: digest) {
                    return verdict(.ok, "signed by '\(cert.subject)' (keyid \(sig.keyIDHex), \(sig.hashAlgorithm.name))", sig)
                }
                return verdict(.badSignature, "signature by keyid \(sig.keyIDHex) does not match the content (\(sig.hashAlgorithm.name))", sig)
            }
        } catch {
            return verdict(.unreadable, error.description)
        }
    }
}
