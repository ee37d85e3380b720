#if canImport(Glibc)
import Glibc
#endif
import SignetCrypto

/// A root filesystem tree on this machine, read as the image will see itself:
/// absolute symlinks inside it point into the tree, not into the host.
public struct ImageRoot: Sendable {
    /// The tree's path on this machine.
    public let path: String

    /// The tree at `path` (trailing slashes dropped).
    public init(_ path: String) {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        self.path = p
    }

    /// The host path of `relative` (a path inside the image, with or without a leading '/').
    public func host(_ relative: String) -> String {
        let r = relative.drop { $0 == "/" }
        return r.isEmpty ? path : "\(path)/\(r)"
    }

    /// lstat of a path inside the image (symlinks not followed).
    public func lstatInfo(_ relative: String) -> stat? {
        var st = stat()
        return lstat(host(relative), &st) == 0 ? st : nil
    }

    /// A regular file at that path in the image (a symlink is not).
    public func isRegularFile(_ relative: String) -> Bool {
        guard let st = lstatInfo(relative) else { return false }
        return st.st_mode & S_IFMT == S_IFREG
    }

    /// A directory at that path in the image (a symlink is not).
    public func isDirectory(_ relative: String) -> Bool {
        guard let st = lstatInfo(relative) else { return false }
        return st.st_mode & S_IFMT == S_IFDIR
    }

    /// Whether the path exists in the image, following symlinks inside the image.
    public func exists(_ relative: String) -> Bool { resolve(relative) != nil }

    /// Modification time (seconds) of a path inside the image, following symlinks inside it.
    public func modificationTime(_ relative: String) -> Int? {
        guard let r = resolve(relative), let st = lstatInfo(r) else { return nil }
        return Int(st.st_mtim.tv_sec)
    }

    /// Names in a directory of the image (sorted; none when it is missing).
    public func list(_ relative: String) -> [String] {
        sortedDirectoryNames(host(relative)).names
    }

    /// Text of a small file inside the image; nil when missing or unreadable.
    public func readText(_ relative: String, limit: Int = 1 << 20) -> String? {
        guard let r = resolve(relative), let bytes = try? FileBytes.read(host(r), limit: limit) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Resolves every symlink in `relative` as the booted image would (an absolute
    /// target starts again at the image root, `..` never leaves it) and returns the
    /// final path inside the image, without a leading '/'; nil when something on the
    /// way is missing or the links loop.
    public func resolve(_ relative: String) -> String? {
        var pending = relative.split(separator: "/").map(String.init).reversed() as [String]
        var resolved = [String]()
        var hops = 0
        while let part = pending.popLast() {
            if part == "." || part.isEmpty { continue }
            if part == ".." { _ = resolved.popLast(); continue }
            let candidate = (resolved + [part]).joined(separator: "/")
            guard let st = lstatInfo(candidate) else { return nil }
            guard st.st_mode & S_IFMT == S_IFLNK else {
                resolved.append(part)
                continue
            }
            hops += 1
            guard hops <= 40, let target = readLink(host(candidate)) else { return nil }
            if target.hasPrefix("/") { resolved = [] }
            pending.append(contentsOf: target.split(separator: "/").map(String.init).reversed())
        }
        return resolved.joined(separator: "/")
    }

    private func readLink(_ hostPath: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(hostPath, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The names in the directory at `path`, sorted, without `.` and `..`; when it
/// cannot be opened, no names and the errno of opendir(3).
func sortedDirectoryNames(_ path: String) -> (names: [String], error: Int32?) {
    guard let dir = opendir(path) else { return ([], errno) }
    defer { closedir(dir) }
    var names = [String]()
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return (names.sorted(), nil)
}
