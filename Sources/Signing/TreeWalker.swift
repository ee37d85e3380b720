#if canImport(Glibc)
import Glibc
#endif
import Provenance
import SignetCrypto

/// One regular file (an inode) found by the walk, with every path that names it.
public struct WalkedFile: Sendable {
    /// Paths to open, as on this machine (`rootfs/usr/bin/ls`).
    public var paths: [FilePath]
    /// The same paths as they will be in the image (`/usr/bin/ls`), for the manifest.
    public var imagePaths: [FilePath]
    public var device: UInt64
    public var inode: UInt64
    public var size: Int64
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// The name alone says "code" (exec bit or module name); else the ELF header decides.
    var codeHint: FileSelection.CodeHint
}

/// Something the walk passed over, and why.
public struct SkippedEntry: Sendable {
    public enum Reason: String, Sendable {
        case fifo = "FIFO"
        case characterDevice = "character device"
        case blockDevice = "block device"
        case socket = "socket"
        case otherFilesystem = "on another filesystem"
    }
    public var path: FilePath
    public var reason: Reason
}

/// A directory or file the walk could not read.
public struct WalkFailure: Error, Sendable, CustomStringConvertible {
    public var path: FilePath
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}

/// What a walk found.
public struct WalkResult: Sendable {
    public var files: [WalkedFile] = []
    public var skipped: [SkippedEntry] = []
    public var failures: [WalkFailure] = []
    public var symlinks = 0
    public var excluded = 0
}

/// Walks trees without following symlinks, staying on one filesystem unless
/// told, and groups hard links so each inode is handled once.
public struct TreeWalker: Sendable {
    public var selection: FileSelection

    public init(selection: FileSelection) { self.selection = selection }

    /// Walks every root (a directory or a single file). Paths inside a directory
    /// root are recorded as image paths from `/`; a file root keeps its path as given.
    public func walk(_ roots: [FilePath]) -> WalkResult {
        var result = WalkResult()
        var byInode = [InodeKey: Int]()
        for root in roots {
            var st = stat()
            let rc = root.withCString { lstat($0, &st) }
            guard rc == 0 else {
                result.failures.append(WalkFailure(path: root, reason: "cannot stat: \(errnoDescription(errno))"))
                continue
            }
            if st.st_mode & S_IFMT == S_IFDIR {
                walkDirectory(root, rootDevice: st.st_dev, into: &result, byInode: &byInode)
            } else {
                let name = root.bytes.split(separator: UInt8(ascii: "/")).last.map(Array.init) ?? root.bytes
                consider(path: root, imagePath: root, name: name, st: st, rootDevice: st.st_dev,
                         into: &result, byInode: &byInode)
            }
        }
        // Deterministic: by first image path.
        for i in result.files.indices {
            let order = result.files[i].imagePaths.indices.sorted { result.files[i].imagePaths[$0] < result.files[i].imagePaths[$1] }
            result.files[i].paths = order.map { result.files[i].paths[$0] }
            result.files[i].imagePaths = order.map { result.files[i].imagePaths[$0] }
        }
        result.files.sort { $0.imagePaths[0] < $1.imagePaths[0] }
        return result
    }

    private struct InodeKey: Hashable { var dev: UInt64; var ino: UInt64 }

    private func walkDirectory(_ root: FilePath, rootDevice: dev_t, into result: inout WalkResult,
                               byInode: inout [InodeKey: Int]) {
        // Depth-first with an explicit stack: (path on disk, path in image).
        var stack: [(FilePath, FilePath)] = [(root, FilePath("/"))]
        while let (dir, imageDir) = stack.popLast() {
            guard let handle = dir.withCString({ opendir($0) }) else {
                result.failures.append(WalkFailure(path: dir, reason: "cannot read directory: \(errnoDescription(errno))"))
                continue
            }
            let dfd = dirfd(handle)
            var entries = [[UInt8]]()
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> [UInt8] in
                    let bytes = raw.bindMemory(to: UInt8.self)
                    let len = bytes.firstIndex(of: 0) ?? bytes.count
                    return Array(bytes[0..<len])
                }
                if name == [UInt8(ascii: ".")] || name == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
                entries.append(name)
            }
            entries.sort { $0.lexicographicallyPrecedes($1) }
            var subdirectories = [(FilePath, FilePath)]()
            for name in entries {
                let path = dir.appending(name)
                let imagePath = imageDir.appending(name)
                var st = stat()
                let rc = FilePath(bytes: name).withCString { fstatat(dfd, $0, &st, AT_SYMLINK_NOFOLLOW) }
                guard rc == 0 else {
                    if errno != ENOENT {  // vanished between readdir and stat: nothing to sign
                        result.failures.append(WalkFailure(path: path, reason: "cannot stat: \(errnoDescription(errno))"))
                    }
                    continue
                }
                let relative = FilePath(bytes: Array(imagePath.bytes.dropFirst()))
                if st.st_mode & S_IFMT == S_IFDIR {
                    if selection.isExcluded(relative) { result.excluded += 1; continue }
                    if st.st_dev != rootDevice && !selection.crossFilesystems {
                        result.skipped.append(SkippedEntry(path: path, reason: .otherFilesystem))
                        continue
                    }
                    subdirectories.append((path, imagePath))
                    continue
                }
                consider(path: path, imagePath: imagePath, name: name, st: st, rootDevice: rootDevice,
                         into: &result, byInode: &byInode)
            }
            closedir(handle)
            stack.append(contentsOf: subdirectories.reversed())
        }
    }

    private func consider(path: FilePath, imagePath: FilePath, name: [UInt8], st: stat, rootDevice: dev_t,
                          into result: inout WalkResult, byInode: inout [InodeKey: Int]) {
        let relative = imagePath.bytes.first == UInt8(ascii: "/") ? FilePath(bytes: Array(imagePath.bytes.dropFirst())) : imagePath
        switch st.st_mode & S_IFMT {
        case S_IFREG:
            break
        case S_IFLNK:
            result.symlinks += 1
            return
        case S_IFIFO:
            result.skipped.append(SkippedEntry(path: path, reason: .fifo)); return
        case S_IFCHR:
            result.skipped.append(SkippedEntry(path: path, reason: .characterDevice)); return
        case S_IFBLK:
            result.skipped.append(SkippedEntry(path: path, reason: .blockDevice)); return
        case S_IFSOCK:
            result.skipped.append(SkippedEntry(path: path, reason: .socket)); return
        default:
            return
        }
        if selection.isExcluded(relative) || !selection.isIncluded(relative) {
            result.excluded += 1
            return
        }
        if st.st_dev != rootDevice && !selection.crossFilesystems {
            result.skipped.append(SkippedEntry(path: path, reason: .otherFilesystem))
            return
        }
        let key = InodeKey(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))
        if let index = byInode[key] {
            result.files[index].paths.append(path)
            result.files[index].imagePaths.append(imagePath)
            return
        }
        byInode[key] = result.files.count
        result.files.append(WalkedFile(
            paths: [path], imagePaths: [imagePath], device: key.dev, inode: key.ino,
            size: Int64(st.st_size), mode: UInt32(st.st_mode), uid: st.st_uid, gid: st.st_gid,
            codeHint: FileSelection.codeHint(name: name, mode: st.st_mode, relative: relative)))
    }
}
