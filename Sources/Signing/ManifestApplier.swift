import IMAFormat
import Provenance
import SignetCrypto

/// Sets the signatures a detached manifest holds onto a tree, after checking
/// that each file's content is the content that was signed.
public final class ManifestApplier: Sendable {
    public enum Outcome: Sendable, Equatable {
        case applied
        /// security.ima already held exactly this value.
        case unchanged
        /// The file's content differs from what the manifest signed.
        case contentMismatch(String)
        case failed(FileProblem)
    }

    public let manifest: Manifest
    public let jobs: Int
    public let dryRun: Bool
    /// When set, every entry's signature must verify with one of these certificates.
    public let trust: TrustStore?

    public init(manifest: Manifest, jobs: Int, dryRun: Bool = false, trust: TrustStore? = nil) {
        self.manifest = manifest
        self.jobs = jobs
        self.dryRun = dryRun
        self.trust = trust
    }

    private struct Worker {
        var digesters: [HashAlgorithm: Digester] = [:]
        let buffer: UnsafeMutableRawBufferPointer
    }

    /// One outcome per manifest entry, in manifest order.
    public func apply(root: FilePath, interrupt: InterruptFlag? = nil) -> [(Manifest.Entry, Outcome)?] {
        let buffers = BufferPool()
        let entries = manifest.entries
        return ParallelRunner.map(
            count: entries.count, jobs: jobs, interrupt: interrupt,
            makeWorker: { Worker(buffer: buffers.make()) },
            body: { worker, i in (entries[i], self.apply(entries[i], root: root, worker: &worker)) })
    }

    private func apply(_ entry: Manifest.Entry, root: FilePath, worker: inout Worker) -> Outcome {
        var path = root
        path.bytes.append(contentsOf: entry.path.bytes.first == UInt8(ascii: "/") ? entry.path.bytes : [UInt8(ascii: "/")] + entry.path.bytes)
        do throws(FileProblem) {
            let handle = try OpenFile(path, expect: nil)
            let digester = worker.digesters[entry.digestAlgorithm] ?? Digester(entry.digestAlgorithm)
            worker.digesters[entry.digestAlgorithm] = digester
            let (digest, _) = try handle.hash(with: digester, buffer: worker.buffer)
            guard digest == entry.digest else {
                return .contentMismatch("content \(entry.digestAlgorithm.name):\(Hex.encode(digest)) differs from the manifest's \(entry.digestString)")
            }
            if let trust {
                guard case .signature(let sig)? = try? IMAXattr(bytes: entry.imaXattr),
                      trust.verifier(of: sig, digest: digest) != nil else {
                    return .contentMismatch("the manifest's signature for this file does not verify with the trusted certificates")
                }
            }
            if try handle.xattr("security.ima") == entry.imaXattr { return .unchanged }
            if !dryRun {
                try handle.checkUnchanged()
                try handle.setXattr("security.ima", entry.imaXattr)
            }
            return .applied
        } catch {
            return .failed(error)
        }
    }
}
