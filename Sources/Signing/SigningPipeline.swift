#if canImport(Glibc)
import Glibc
#endif
import IMAFormat
import Provenance
import SignetCrypto
import Synchronization

/// How `SigningPipeline` treats files.
public struct SigningOptions: Sendable {
    public var hashAlgorithm: HashAlgorithm = .sha256
    public var selection: FileSelection.Mode = .all
    /// Compute everything, write nothing.
    public var dryRun = false
    /// Write signatures only into the manifest, never into the tree.
    public var detached = false
    /// Replace a malformed existing security.ima.
    public var force = false
    /// Re-sign even when the existing signature already verifies with our key.
    public var resignAll = false
    /// Key rotation: re-sign only files whose security.ima is a signature v2
    /// by this keyid (not checked against any certificate); every other file
    /// is left untouched (`.otherKey`). `force` and `resignAll` do not apply.
    public var resignFrom: UInt32?
    /// Also write a portable EVM signature (security.evm, type 0x05) after security.ima.
    public var evm: EVMSigningOptions?
    public var jobs: Int = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    /// Test hook: runs after a file is hashed, before its xattr is set.
    var afterHash: (@Sendable (FilePath) -> Void)?

    public init() {}
}

/// What happened to one file (inode).
public struct SignedFile: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// A new signature was written (or, detached / dry run, computed).
        case signed
        /// The existing signature already verified with this key: left alone.
        case alreadySigned
        /// Not executable code under `--select code`.
        case notSelected
        /// `resignFrom`: the file carries no signature v2 by the old keyid; left untouched.
        case otherKey
        case failed(FileProblem)
    }
    public var file: WalkedFile
    public var outcome: Outcome
    public var digest: [UInt8]
    /// The security.ima value (new, or the existing valid one).
    public var xattr: [UInt8]
    public var bytesRead: Int64
    /// With `SigningOptions.evm`: the security.evm value written (or kept, when
    /// it already verified over the current metadata); empty otherwise.
    public var evm: [UInt8] = []
}

/// The parallel hash+sign pipeline: each worker opens a file with
/// O_NOFOLLOW, hashes it, signs the digest and sets security.ima on the same
/// file descriptor. The key is loaded once and shared.
public final class SigningPipeline: Sendable {
    public let key: PrivateKey
    public let certificate: Certificate
    public let options: SigningOptions
    private let keyID: UInt32
    private let publicKey: PublicKey

    /// Checks that key and certificate belong together and that the
    /// certificate may sign (valid now, digitalSignature, kernel-verifiable key).
    public init(key: PrivateKey, certificate: Certificate, options: SigningOptions) throws {
        try certificate.checkUsableForIMASigning()
        try certificate.checkMatches(key)
        self.key = key
        self.certificate = certificate
        self.options = options
        self.keyID = certificate.imaKeyID
        self.publicKey = certificate.publicKey
    }

    private struct Worker {
        let digester: Digester
        let buffer: UnsafeMutableRawBufferPointer
    }

    /// Signs every file; results are in the order of `files`. Files not reached
    /// because `interrupt` was raised are absent (nil).
    public func run(_ files: [WalkedFile], interrupt: InterruptFlag? = nil,
                    progress: ProgressCounter? = nil) -> [SignedFile?] {
        let buffers = BufferPool()
        return ParallelRunner.map(
            count: files.count, jobs: options.jobs, interrupt: interrupt,
            makeWorker: { Worker(digester: Digester(options.hashAlgorithm), buffer: buffers.make()) },
            body: { worker, i in process(files[i], worker: worker, progress: progress) })
    }

    private func process(_ file: WalkedFile, worker: Worker, progress: ProgressCounter?) -> SignedFile {
        var result = SignedFile(file: file, outcome: .signed, digest: [], xattr: [], bytesRead: 0)
        defer { progress?.addFile() }
        do throws(FileProblem) {
            let handle = try OpenFile(file.paths[0], expect: (file.device, file.inode))
            if options.selection == .code && file.codeHint == .checkELFHeader {
                let n = try handle.readHeader(into: worker.buffer)
                if !FileSelection.isELFCode(header: UnsafeRawBufferPointer(rebasing: worker.buffer[0..<n])) {
                    result.outcome = .notSelected
                    return result
                }
            }
            let existing = options.detached && options.resignFrom == nil ? nil : try handle.xattr("security.ima")
            if let old = options.resignFrom {
                // Rotation: only signatures by the old key are replaced; nothing else is read or touched.
                guard let existing, Self.isSignatureV2(existing, by: old) else {
                    result.xattr = existing ?? []
                    result.outcome = .otherKey
                    progress?.addBytes(Int(file.size))
                    return result
                }
            }
            let (digest, bytes) = try handle.hash(with: worker.digester, buffer: worker.buffer,
                                                  progress: progress.map { p in { p.addBytes($0) } })
            result.digest = digest
            result.bytesRead = bytes
            options.afterHash?(file.paths[0])

            if let existing, options.resignFrom == nil {
                switch existingState(existing, digest: digest) {
                case .validOurs where !options.resignAll:
                    result.xattr = existing
                    result.outcome = .alreadySigned
                    if let evm = options.evm {
                        // security.ima is final: sign the metadata over it (skipped when already valid).
                        if try signEVM(handle, ima: existing, options: evm, into: &result) { result.outcome = .signed }
                    }
                    return result
                case .malformed(let why) where !options.force:
                    throw .malformedExistingXattr(why)
                default:
                    break
                }
            }
            do {
                result.xattr = try imaXattr(forDigest: digest)
            } catch {
                throw .signingFailed("\(error)")
            }
            if !options.dryRun && !options.detached {
                // Re-check: the content must still be what was hashed.
                try handle.checkUnchanged()
                try handle.setXattr("security.ima", result.xattr)
            }
            if let evm = options.evm {
                // After security.ima: the EVM signature covers its final value.
                _ = try signEVM(handle, ima: result.xattr, options: evm, into: &result)
            }
        } catch {
            result.outcome = .failed(error)
        }
        return result
    }

    /// The security.ima value for content whose `options.hashAlgorithm` digest is `digest`: a
    /// signature v2 by this key, the bytes `run` writes (and `evmctl ima_sign` would).
    /// Also used for content that is not a file here, such as the files of a .deb.
    public func imaXattr(forDigest digest: [UInt8]) throws -> [UInt8] {
        let signature = try key.sign(digest: digest, algorithm: options.hashAlgorithm)
        return IMASignature(hashAlgorithm: options.hashAlgorithm, keyID: keyID, signature: signature).encoded()
    }

    /// Whether `bytes` is an IMA signature v2 made by `keyID` (whatever its validity).
    static func isSignatureV2(_ bytes: [UInt8], by keyID: UInt32) -> Bool {
        guard case .signature(let sig)? = try? IMAXattr(bytes: bytes) else { return false }
        return sig.kind == .ima && sig.version == 2 && sig.keyID == keyID
    }

    private enum ExistingState { case validOurs, other, malformed(String) }

    private func existingState(_ bytes: [UInt8], digest: [UInt8]) -> ExistingState {
        let value: IMAXattr
        do { value = try IMAXattr(bytes: bytes) } catch { return .malformed("\(error)") }
        guard case .signature(let sig) = value, sig.kind == .ima, sig.version == 2,
              sig.keyID == keyID, sig.hashAlgorithm == options.hashAlgorithm else { return .other }
        return publicKey.verify(signature: sig.signature, digest: digest, algorithm: sig.hashAlgorithm)
            ? .validOurs : .other
    }
}

/// Read buffers, one per worker, freed with the pool.
final class BufferPool: @unchecked Sendable {
    static let bufferSize = 1 << 17
    private var buffers = [UnsafeMutableRawBufferPointer]()
    private let lock = Mutex(())

    func make() -> UnsafeMutableRawBufferPointer {
        let b = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.bufferSize, alignment: 4096)
        lock.withLock { _ in buffers.append(b) }
        return b
    }

    deinit { for b in buffers { b.deallocate() } }
}
