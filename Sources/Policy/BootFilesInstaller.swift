#if canImport(Glibc)
import Glibc
#endif
import SignetCrypto

/// Copies Signet's boot integration from a source tree into an image, keeping
/// each file's mode (the hooks must stay executable), and can put everything
/// back as it was when a later step fails.
public struct BootFilesInstaller: Sendable {
    public let source: ImageRoot
    public let image: ImageRoot

    public init(source: ImageRoot, image: ImageRoot) {
        self.source = source
        self.image = image
    }

    /// What an installation changed, so it can be undone.
    public struct Installation: Sendable {
        /// Relative paths written (new or changed).
        public var written: [String] = []
        /// Relative paths that did not exist before, and directories made.
        var createdFiles: [String] = []
        var createdDirectories: [String] = []
        /// Old content and mode of replaced files.
        var replaced: [(String, [UInt8], mode_t)] = []
    }

    /// The files that would be copied; throws naming what the source lacks for
    /// the image's builders. Nothing is written.
    public func plan(for builders: [InitramfsBuilder]) throws -> [String] {
        let files = BootIntegration.files(in: source)
        for builder in builders {
            let missing = BootIntegration.requiredFiles(for: builder).filter { !files.contains($0) }
            if !missing.isEmpty {
                throw BootIntegrationError("the boot files in \(source.path) lack \(missing.joined(separator: ", ")) (needed for the image's \(builder.rawValue))")
            }
        }
        if files.isEmpty { throw BootIntegrationError("\(source.path) holds none of Signet's boot files") }
        return files
    }

    /// Copies the planned files (and, for dracut, enables the module); unchanged
    /// files are not rewritten. On error, what was written is undone before throwing.
    public func install(for builders: [InitramfsBuilder]) throws -> Installation {
        let files = try plan(for: builders)
        var done = Installation()
        do {
            for relative in files {
                guard let st = source.lstatInfo(relative) else { throw BootIntegrationError("cannot read \(source.host(relative))") }
                let bytes = try FileBytes.read(source.host(relative), limit: 16 << 20)
                try write(bytes, mode: mode_t(st.st_mode & 0o7777), to: relative, into: &done)
            }
            if builders.contains(.dracut) {
                try write(Array(BootIntegration.dracutConfigText.utf8), mode: 0o644, to: BootIntegration.dracutConfig, into: &done)
            }
        } catch {
            rollback(done)
            throw error
        }
        return done
    }

    private func write(_ bytes: [UInt8], mode: mode_t, to relative: String, into done: inout Installation) throws {
        let target = image.host(relative)
        if let st = image.lstatInfo(relative) {
            guard st.st_mode & S_IFMT == S_IFREG else {
                throw BootIntegrationError("\(target) exists and is not a regular file; remove it or install the signet package in the image")
            }
            let old = try FileBytes.read(target, limit: 16 << 20)
            let oldMode = mode_t(st.st_mode & 0o7777)
            if old == bytes && oldMode == mode { return }
            try makeParents(of: relative, into: &done)
            try FileBytes.writeAtomically(bytes, to: target, mode: mode)
            done.replaced.append((relative, old, oldMode))
        } else {
            try makeParents(of: relative, into: &done)
            try FileBytes.writeAtomically(bytes, to: target, mode: mode)
            done.createdFiles.append(relative)
        }
        done.written.append(relative)
    }

    private func makeParents(of relative: String, into done: inout Installation) throws {
        let parts = relative.split(separator: "/").dropLast()
        var prefix = ""
        for part in parts {
            prefix += (prefix.isEmpty ? "" : "/") + part
            if image.isDirectory(prefix) { continue }
            if image.lstatInfo(prefix) != nil {
                // A symlink here would be followed on this machine, not in the image: never write through it.
                throw BootIntegrationError("\(image.host(prefix)) is not a directory (a symlink or file); cannot install \(relative) there")
            }
            guard mkdir(image.host(prefix), 0o755) == 0 else {
                throw BootIntegrationError("cannot create \(image.host(prefix)): \(errnoDescription(errno))")
            }
            done.createdDirectories.append(prefix)
        }
    }

    /// Puts back what `installation` changed: new files and directories removed,
    /// replaced files restored.
    public func rollback(_ installation: Installation) {
        for (relative, bytes, mode) in installation.replaced {
            try? FileBytes.writeAtomically(bytes, to: image.host(relative), mode: mode)
        }
        for relative in installation.createdFiles { unlink(image.host(relative)) }
        for dir in installation.createdDirectories.reversed() { rmdir(image.host(dir)) }
    }
}
