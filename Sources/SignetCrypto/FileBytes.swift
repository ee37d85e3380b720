#if canImport(Glibc)
import Glibc
#endif

/// Reads a whole (small) file such as a key or certificate.
public enum FileBytes {
    /// The file's bytes (or its first `prefix` bytes); throws `CryptoError.fileUnreadable` naming the path and errno.
    public static func read(_ path: String, limit: Int = 16 << 20, prefix: Int? = nil) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CryptoError(.fileUnreadable, path: path, "cannot open: \(errnoDescription(errno))")
        }
        defer { close(fd) }
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CryptoError(.fileUnreadable, path: path, "cannot read: \(errnoDescription(errno))")
            }
            if n == 0 { break }
            out.append(contentsOf: buf[0..<n])
            if let prefix, out.count >= prefix { return Array(out.prefix(prefix)) }
            if out.count > limit {
                throw CryptoError(.fileUnreadable, path: path, "file is larger than \(limit) bytes")
            }
        }
        return out
    }

    /// Writes `bytes` to `path` atomically (temp file + rename) with `mode`,
    /// so a reader never sees half a key and a private key is never world-readable.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
        let tmp = path + ".tmp.\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw CryptoError(.operationFailed, path: path, "cannot create: \(errnoDescription(errno))")
        }
        var ok = fchmod(fd, mode) == 0
        var offset = 0
        while ok && offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { ok = false; break }
            offset += n
        }
        let savedErrno = errno
        ok = ok && fsync(fd) == 0
        close(fd)
        if !ok || rename(tmp, path) != 0 {
            let e = ok ? errno : savedErrno
            unlink(tmp)
            throw CryptoError(.operationFailed, path: path, "cannot write: \(errnoDescription(e))")
        }
    }
}

/// The text of an errno value ("Permission denied"), for messages.
public func errnoDescription(_ code: Int32) -> String {
    guard let p = strerror(code) else { return "errno \(code)" }
    return String(decoding: UnsafeRawBufferPointer(start: p, count: strlen(p)), as: UTF8.self)
}
