#if canImport(Glibc)
import Glibc
#endif
import DebianPackage
import Decompression
import IMAFormat
import SignetCrypto
import Provenance
import Signing

/// A bundle made for one .deb: the document, its bytes and its detached signature, ready to write.
public struct BuiltBundle: Sendable {
    public var scanned: ScannedDeb
    public var bundle: SignatureBundle
    public var bytes: [UInt8]
    public var signature: [UInt8]
}

/// Makes signature bundles for .deb files, in parallel like `signet sign`:
///
/// 1. every .deb is read once, on `jobs` threads, largest first (a big package starts at once
///    and does not end the run alone; xz members of several blocks are also decoded on `jobs`
///    threads): its SHA-256, control fields and the digest of every file;
/// 2. every distinct digest is signed once, on `jobs` threads, through `SigningPipeline` — the
///    same code and key handling that `signet sign` writes security.ima with;
/// 3. each bundle is encoded and signed.
///
/// Nothing is written here: `BundleWriter` and `BundleRepository` write the results.
public struct BundleBuilder: Sendable {
    public let pipeline: SigningPipeline
    public let jobs: Int
    public let created: String
    public let tool: String
    public var limits = DebianPackageLimits()

    public init(pipeline: SigningPipeline, created: String, tool: String, jobs: Int? = nil) {
        self.pipeline = pipeline
        self.created = created
        self.tool = tool
        self.jobs = max(1, jobs ?? pipeline.options.jobs)
    }

    public var hashAlgorithm: HashAlgorithm { pipeline.options.hashAlgorithm }

    /// Builds a bundle for each .deb; results are in the order of `debs`. A .deb that fails gives
    /// its error; the others are still built (the caller decides whether to write any).
    public func build(_ debs: [String], interrupt: InterruptFlag? = nil) -> [Result<BuiltBundle, BundleError>] {
        let scans = scan(debs, interrupt: interrupt)
        // Every distinct digest signed once.
        var unique = [[UInt8]: Int]()
        var digests = [[UInt8]]()
        for case .success(let s) in scans {
            for f in s.files where unique[f.digest] == nil {
                unique[f.digest] = digests.count
                digests.append(f.digest)
            }
        }
        let signatures = ParallelRunner.map(count: digests.count, jobs: jobs, interrupt: interrupt) { i in
            Result { () throws(BundleError) -> [UInt8] in
                do { return try pipeline.imaXattr(forDigest: digests[i]) } catch {
                    throw BundleError(.signingFailed, source: pipeline.key.source, "signing failed: \(error)")
                }
            }
        }
        let signer = BundleSigner(certificate: pipeline.certificate)
        return ParallelRunner.map(count: scans.count, jobs: jobs, interrupt: nil) { i -> Result<BuiltBundle, BundleError> in
            let scanned: ScannedDeb
            switch scans[i] {
            case .failure(let e): return .failure(e)
            case .success(let s): scanned = s
            }
            var files = [SignatureBundle.File]()
            files.reserveCapacity(scanned.files.count)
            for f in scanned.files {
                switch signatures[unique[f.digest]!] {
                case .some(.success(let ima)):
                    files.append(.init(path: FilePath(bytes: f.path), size: f.size, mode: f.mode, digest: f.digest, ima: ima))
                case .some(.failure(let e)): return .failure(e)
                case .none: return .failure(BundleError(.io, source: scanned.source, "interrupted"))
                }
            }
            let bundle = SignatureBundle(control: scanned.control, debSHA256: scanned.sha256, debSize: scanned.size,
                                         hashAlgorithm: hashAlgorithm, created: created, tool: tool, signer: signer, files: files)
            let bytes = bundle.encoded()
            do {
                let sig = try DetachedSignature.sign(bytes, with: pipeline.key)
                return .success(BuiltBundle(scanned: scanned, bundle: bundle, bytes: bytes, signature: sig))
            } catch {
                return .failure(BundleError(.signingFailed, source: pipeline.key.source, "signing the bundle failed: \(error)"))
            }
        }.map { $0 ?? .failure(BundleError(.io, source: "bundle", "interrupted")) }
    }

    /// Stage 1: every .deb read once, largest first, one digester and buffer per thread.
    func scan(_ debs: [String], interrupt: InterruptFlag?) -> [Result<ScannedDeb, BundleError>] {
        let sizes = debs.map { path -> Int64 in
            var st = stat()
            return lstat(path, &st) == 0 ? Int64(st.st_size) : 0
        }
        let order = debs.indices.sorted { sizes[$0] != sizes[$1] ? sizes[$0] > sizes[$1] : $0 < $1 }
        var decompression = DecompressionOptions()
        decompression.threads = jobs
        let scanner = DebScanner(hashAlgorithm: hashAlgorithm, limits: limits, decompression: decompression)
        let algorithm = hashAlgorithm
        let results = ParallelRunner.map(count: debs.count, jobs: jobs, interrupt: interrupt,
                                         makeWorker: { ScanWorker(algorithm) }, body: { worker, k in
            (order[k], Result { () throws(BundleError) -> ScannedDeb in
                try scanner.scan(debs[order[k]], buffer: worker.buffer, digester: worker.digester)
            })
        })
        var out = [Result<ScannedDeb, BundleError>?](repeating: nil, count: debs.count)
        for case let (i, r)? in results { out[i] = r }
        return out.enumerated().map { i, r in r ?? .failure(BundleError(.io, source: debs[i], "not read: the run was interrupted")) }
    }
}

/// Per-thread state of the scan stage.
final class ScanWorker {
    let digester: Digester
    let buffer: UnsafeMutableRawBufferPointer

    init(_ algorithm: HashAlgorithm) {
        digester = Digester(algorithm)
        buffer = .allocate(byteCount: DebScanner.chunkSize, alignment: 64)
    }

    deinit { buffer.deallocate() }
}
