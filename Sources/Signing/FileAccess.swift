#if canImport(Glibc)
import Glibc
#endif
import Provenance
import SignetCrypto
import CLinux

/// An open regular file: opened with O_NOFOLLOW, checked to be the inode the
/// walk saw, so hashing and setting the xattr act on the same file.
struct OpenFile: ~Copyable {
    let fd: Int32
    let path: FilePath
    var status: stat

    /// Opens `path` for reading; `expect` (device, inode) guards against a swap since the walk.
    init(_ path: FilePath, expect: (UInt64, UInt64)?) throws(FileProblem) {
        let fd = path.withCString { open($0, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) }
        guard fd >= 0 else {
            switch errno {
            case ENOENT: throw .vanished
            case ELOOP: throw .replaced("now a symlink")
            default: throw .unreadable(errnoDescription(errno))
            }
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            close(fd)
            throw .unreadable(errnoDescription(e))
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw .replaced("no longer a regular file")
        }
        if let (dev, ino) = expect, UInt64(st.st_dev) != dev || UInt64(st.st_ino) != ino {
            close(fd)
            throw .replaced("another inode now has this name")
        }
        self.fd = fd
        self.path = path
        self.status = st
    }

    deinit { close(fd) }

    /// Reads up to `buffer.count` bytes from the start (for the ELF header check).
    func readHeader(into buffer: UnsafeMutableRawBufferPointer) throws(FileProblem) -> Int {
        let n = pread(fd, buffer.baseAddress, min(buffer.count, 64), 0)
        guard n >= 0 else { throw .unreadable(errnoDescription(errno)) }
        return n
    }

    /// Hashes the whole content with `digester`, then checks the file did not
    /// change meanwhile (size, mtime and ctime as before the read).
    func hash(with digester: Digester, buffer: UnsafeMutableRawBufferPointer,
              progress: ((Int) -> Void)? = nil) throws(FileProblem) -> (digest: [UInt8], bytes: Int64) {
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        var total: Int64 = 0
        while true {
            let n = pread(fd, buffer.baseAddress, buffer.count, off_t(total))
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable(errnoDescription(errno))
            }
            if n == 0 { break }
            digester.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            total += Int64(n)
            progress?(n)
        }
        let digest = digester.finalize()
        var after = stat()
        guard fstat(fd, &after) == 0 else { throw .unreadable(errnoDescription(errno)) }
        if after.st_size != status.st_size || total != Int64(status.st_size)
            || after.st_mtim.tv_sec != status.st_mtim.tv_sec || after.st_mtim.tv_nsec != status.st_mtim.tv_nsec
            || after.st_ctim.tv_sec != status.st_ctim.tv_sec || after.st_ctim.tv_nsec != status.st_ctim.tv_nsec {
            throw .changedWhileReading
        }
        return (digest, total)
    }

    /// The current value of an xattr, or nil when the file has none.
    func xattr(_ name: String) throws(FileProblem) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { fgetxattr(fd, name, $0.baseAddress, $0.count) }
            if n >= 0 { return Array(buffer[0..<n]) }
            switch errno {
            case ENODATA: return nil
            case ERANGE:
                let size = fgetxattr(fd, name, nil, 0)
                guard size > 0 else { return nil }
                buffer = [UInt8](repeating: 0, count: size)
            case ENOTSUP: throw .xattrUnsupported
            default: throw .unreadable("cannot read \(name): \(errnoDescription(errno))")
            }
        }
    }

    /// Sets an xattr on this very file descriptor (atomic: readers see the old or the new value).
    func setXattr(_ name: String, _ value: [UInt8]) throws(FileProblem) {
        let rc = value.withUnsafeBytes { fsetxattr(fd, name, $0.baseAddress, $0.count, 0) }
        guard rc == 0 else {
            switch errno {
            case ENOTSUP: throw .xattrUnsupported
            case EPERM, EACCES: throw .xattrPermissionDenied
            default: throw .xattrFailed(errnoDescription(errno))
            }
        }
    }
}

extension OpenFile {
    /// Throws `.changedWhileReading` when size, mtime or ctime moved since the open.
    func checkUnchanged() throws(FileProblem) {
        var now = stat()
        guard fstat(fd, &now) == 0 else { throw .unreadable(errnoDescription(errno)) }
        if now.st_size != status.st_size
            || now.st_mtim.tv_sec != status.st_mtim.tv_sec || now.st_mtim.tv_nsec != status.st_mtim.tv_nsec
            || now.st_ctim.tv_sec != status.st_ctim.tv_sec || now.st_ctim.tv_nsec != status.st_ctim.tv_nsec {
            throw .changedWhileReading
        }
    }
}
