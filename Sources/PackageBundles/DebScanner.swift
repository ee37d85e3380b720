#if canImport(Glibc)
import Glibc
#endif
import DebianPackage
import Decompression
import IMAFormat
import SignetCrypto
import Provenance
import Signing

/// What a .deb installs, with the digest of every regular file: read in one pass over the file
/// (the .deb's SHA-256, ar, decompression, tar and the per-file digests together).
public struct ScannedDeb: Sendable {
    public var source: String
    public var control: DebControl
    public var sha256: [UInt8]
    public var size: Int64
    public var hashAlgorithm: HashAlgorithm
    /// Regular files and hard links, in archive order.
    public var files: [ScannedFile]
    public var summary: DebArchiveSummary
}

public struct ScannedFile: Sendable, Equatable {
    public var path: [UInt8]
    public var size: Int64
    /// S_IFREG | permission bits.
    public var mode: UInt32
    public var digest: [UInt8]
    /// For a hard link: the path whose content it shares.
    public var linkTarget: [UInt8]?
}

/// Computes the digest of each regular file as `DebArchiveReader` streams it; a hard link gets
/// its target's digest, size and mode (it is the same inode once installed).
struct DigestingHandler: DebContentHandler {
    let digester: Digester
    var control: DebControl?
    var files = [ScannedFile]()
    private var byPath = [[UInt8]: Int]()
    private var current: Int?

    init(digester: Digester) { self.digester = digester }

    mutating func control(_ control: DebControl) { self.control = control }

    mutating func entry(_ entry: DebEntry) {
        switch entry.kind {
        case .regular:
            byPath[entry.path] = files.count
            current = files.count
            files.append(ScannedFile(path: entry.path, size: entry.size, mode: 0o100000 | (entry.mode & 0o7777), digest: []))
        case .hardlink:
            // The reader guarantees the target is an earlier, complete regular file.
            guard let t = byPath[entry.linkTarget] else { return }
            let target = files[t]
            files.append(ScannedFile(path: entry.path, size: target.size, mode: target.mode, digest: target.digest,
                                     linkTarget: target.path))
        default:
            break
        }
    }

    mutating func data(_ bytes: UnsafeRawBufferPointer) { digester.update(bytes) }

    mutating func endOfEntry() {
        if let c = current {
            files[c].digest = digester.finalize()
            current = nil
        }
    }
}

/// Reads .deb files from disk for `DebArchiveReader`: the only I/O of the bundle builder's first stage.
public struct DebScanner: Sendable {
    public var hashAlgorithm: HashAlgorithm
    public var limits: DebianPackageLimits
    public var decompression: DecompressionOptions
    static let chunkSize = 1 << 20

    public init(hashAlgorithm: HashAlgorithm, limits: DebianPackageLimits = .init(), decompression: DecompressionOptions = .init()) {
        self.hashAlgorithm = hashAlgorithm
        self.limits = limits
        self.decompression = decompression
    }

    /// Reads `path` once: its SHA-256, its control fields, every file's digest.
    public func scan(_ path: String) throws(BundleError) -> ScannedDeb {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkSize, alignment: 64)
        defer { buffer.deallocate() }
        return try scan(path, buffer: buffer, digester: Digester(hashAlgorithm))
    }

    func scan(_ path: String, buffer: UnsafeMutableRawBufferPointer, digester: Digester) throws(BundleError) -> ScannedDeb {
        let file = try DebFile(path)
        defer { file.close() }
        let whole = Digester(.sha256)
        var reader = DebArchiveReader(handler: DigestingHandler(digester: digester), limits: limits, totalSize: file.size,
                                      decompression: decompression)
        var read: Int64 = 0
        do {
            while true {
                let n = try file.read(into: buffer)
                if n == 0 { break }
                read += Int64(n)
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
                whole.update(chunk)
                try reader.consume(chunk)
            }
            let summary = try reader.finish()
            guard read == file.size else {
                throw BundleError(.io, source: path, "the file changed size while it was read (\(file.size) → \(read) bytes)")
            }
            let handler = reader.handler
            return ScannedDeb(source: path, control: summary.control, sha256: whole.finalize(), size: read,
                              hashAlgorithm: hashAlgorithm, files: handler.files, summary: summary)
        } catch let e as DebianPackageError {
            throw .package(e, source: path)
        } catch let e as BundleError {
            throw e
        } catch {
            throw BundleError(.io, source: path, "\(error)")
        }
    }

    /// SHA-256 and size of a file, streamed.
    public static func sha256(of path: String) throws(BundleError) -> (digest: [UInt8], size: Int64) {
        let file = try DebFile(path)
        defer { file.close() }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 64)
        defer { buffer.deallocate() }
        let d = Digester(.sha256)
        var total: Int64 = 0
        while true {
            let n = try file.read(into: buffer)
            if n == 0 { break }
            total += Int64(n)
            d.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return (d.finalize(), total)
    }
}

/// A regular file opened for reading (O_NOFOLLOW: a repository's symlinks are not followed).
struct DebFile {
    let fd: Int32
    let path: String
    let size: Int64

    init(_ path: String) throws(BundleError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            let e = errno
            throw BundleError(.io, source: path, e == ELOOP ? "is a symbolic link (not followed)" : "cannot open: \(errnoDescription(e))")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            Glibc.close(fd)
            throw BundleError(.io, source: path, "cannot stat: \(errnoDescription(e))")
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            Glibc.close(fd)
            throw BundleError(.io, source: path, "not a regular file")
        }
        self.fd = fd
        self.size = Int64(st.st_size)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(BundleError) -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw BundleError(.io, source: path, "cannot read: \(errnoDescription(errno))")
        }
    }

    func close() { Glibc.close(fd) }
}
