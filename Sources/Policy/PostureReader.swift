#if canImport(Glibc)
import Glibc
#endif
import SignetCrypto

/// Fills a `PostureSnapshot` from the files of a running system under a root
/// prefix (`/`, or a copy of /proc, /sys, /boot and /etc for tests). A file
/// that is missing is `.absent`; one that is there but cannot be read (an
/// error from open or read, or a directory where a file should be) is
/// `.unreadable` with the system's reason.
public struct PostureReader: Sendable {
    /// The root prefix, without a trailing slash ("" for `/`).
    public let root: String

    /// Reads under `root` (default `/`).
    public init(root: String = "/") {
        var r = root
        while r.hasSuffix("/") { r.removeLast() }
        self.root = r
    }

    /// The host path of a path relative to the root.
    public func path(_ relative: String) -> String { "\(root)/\(relative)" }

    /// Reads every source; the keyrings' contents are left to the caller.
    public func read() -> PostureSnapshot {
        var s = PostureSnapshot()
        s.cmdline = text(PosturePaths.cmdline)
        s.kernelRelease = text(PosturePaths.osrelease)
        if let release = s.kernelRelease.value?.trimmedOfSpaces, !release.isEmpty, !release.contains("/") {
            s.kernelConfig = text(PosturePaths.kernelConfig(release: release), limit: 16 << 20)
        } else {
            s.kernelConfig = .unreadable("the kernel release is not known")
        }
        s.uidMap = text(PosturePaths.uidMap)
        s.securityfs = list(PosturePaths.securityfs)
        s.lsm = text(PosturePaths.lsm)
        s.lockdown = text(PosturePaths.lockdown)
        s.imaDirectory = list(PosturePaths.imaDirectory)
        s.kernelPolicy = text(PosturePaths.kernelPolicy)
        s.configuredPolicy = text(PosturePaths.configuredPolicy)
        s.sigEnforce = text(PosturePaths.sigEnforce)
        s.evm = text(PosturePaths.evm)
        s.secureBoot = bytes(PosturePaths.secureBoot, limit: 64)
        s.procKeys = text(PosturePaths.procKeys)
        return s
    }

    /// A small file's text.
    public func text(_ relative: String, limit: Int = 1 << 20) -> PostureSource<String> {
        switch bytes(relative, limit: limit) {
        case .value(let b): return .value(String(decoding: b, as: UTF8.self))
        case .unreadable(let why): return .unreadable(why)
        case .absent: return .absent
        }
    }

    /// A small file's bytes.
    public func bytes(_ relative: String, limit: Int) -> PostureSource<[UInt8]> {
        let p = path(relative)
        var st = stat()
        guard stat(p, &st) == 0 else { return missing(errno) }
        if st.st_mode & S_IFMT == S_IFDIR { return .unreadable("\(p) is a directory") }
        do {
            return .value(try FileBytes.read(p, limit: limit))
        } catch let error as CryptoError {
            return .unreadable("\(p): \(error.reason)")
        } catch {
            return .unreadable("\(p): \(error)")
        }
    }

    /// The names in a directory (sorted).
    public func list(_ relative: String) -> PostureSource<[String]> {
        let listing = sortedDirectoryNames(path(relative))
        if let error = listing.error { return missing(error) }
        return .value(listing.names)
    }

    private func missing<T>(_ code: Int32) -> PostureSource<T> {
        code == ENOENT || code == ENOTDIR ? .absent : .unreadable(errnoDescription(code))
    }
}
