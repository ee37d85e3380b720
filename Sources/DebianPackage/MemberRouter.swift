import Decompression

/// Routes ar members to their role and drives decompression and tar parsing.
struct MemberRouter<Handler: DebContentHandler>: ArSink {
    enum Stage { case debianBinary, beforeControl, control, beforeData, data, afterData }

    let limits: DebianPackageLimits
    let decompression: DecompressionOptions
    var stage = Stage.debianBinary
    var member: ArMember?
    var memberRole: Stage?
    var versionBytes = [UInt8]()
    var decompressor: Decompressor?
    var tar = TarParser()
    var controlSink: ControlSink
    var data: DataSink<Handler>
    var control: DebControl?
    var controlMember = ""
    var dataMember = ""
    var dataFormat = CompressionFormat.none

    init(handler: Handler, limits: DebianPackageLimits, decompression: DecompressionOptions) {
        self.limits = limits
        self.decompression = decompression
        controlSink = ControlSink(limits: limits)
        data = DataSink(handler: handler, limits: limits)
    }

    mutating func memberStart(_ m: ArMember) throws(DebianPackageError) {
        member = m
        memberRole = nil
        func structure(_ reason: String) -> DebianPackageError {
            DebianPackageError(.badStructure, offset: m.headerOffset, entry: m.name, field: "name", reason)
        }
        if stage == .debianBinary {
            guard m.name == "debian-binary" else {
                throw structure("not a Debian binary package: the first ar member is '\(m.name)', expected 'debian-binary'")
            }
            guard m.size <= 1024 else {
                throw DebianPackageError.limit("debian-binary", m.size, max: 1024, offset: m.headerOffset, entry: m.name, field: "size")
            }
            memberRole = .debianBinary
            return
        }
        if m.name.hasPrefix("_") { return }  // non-critical members: skipped, as dpkg does
        switch stage {
        case .beforeControl:
            guard let format = Self.format(m.name, base: "control.tar", allowed: [.none, .gzip, .xz, .zstd]) else {
                if m.name.hasPrefix("control.tar") {
                    throw DebianPackageError(.unsupported, offset: m.headerOffset, entry: m.name, field: "name",
                                             "unsupported compression for '\(m.name)' (control.tar may be uncompressed, .gz, .xz or .zst)")
                }
                throw structure("unexpected member '\(m.name)' before 'control.tar'")
            }
            guard m.size > 0 else { throw structure("'\(m.name)' is empty") }
            controlMember = m.name
            try startStream(format, member: m, maxOutput: limits.maxControlArchiveSize)
            memberRole = .control
        case .beforeData:
            guard let format = Self.format(m.name, base: "data.tar", allowed: [.none, .gzip, .xz, .zstd, .lzma]) else {
                if m.name.hasPrefix("control.tar") { throw structure("a second control member '\(m.name)'") }
                if m.name.hasPrefix("data.tar") {
                    throw DebianPackageError(.unsupported, offset: m.headerOffset, entry: m.name, field: "name",
                                             "unsupported compression for '\(m.name)' (data.tar may be uncompressed, .gz, .xz, .zst or .lzma)")
                }
                throw structure("unexpected member '\(m.name)' before 'data.tar'")
            }
            guard m.size > 0 else { throw structure("'\(m.name)' is empty") }
            dataMember = m.name
            dataFormat = format
            try startStream(format, member: m, maxOutput: limits.maxDataArchiveSize)
            memberRole = .data
        case .afterData:
            throw structure("unexpected member '\(m.name)' after '\(dataMember)'")
        case .debianBinary, .control, .data:
            throw structure("member '\(m.name)' starts inside another member")
        }
    }

    mutating func memberData(_ bytes: UnsafeRawBufferPointer) throws(DebianPackageError) {
        guard let role = memberRole, let m = member else { return }
        if role == .debianBinary {
            versionBytes.append(contentsOf: bytes)
            return
        }
        guard let decompressor else { return }
        var consumed = 0
        repeat {
            let out: UnsafeRawBufferPointer
            do { out = try decompressor.decompress(bytes, consumed: &consumed) } catch {
                throw .decompression(error, member: m.name, memberOffset: m.dataOffset)
            }
            if out.count > 0 { try feedTar(out, role: role, member: m) }
            if out.count == 0 && consumed == bytes.count { break }
        } while true
    }

    mutating func memberEnd() throws(DebianPackageError) {
        guard let role = memberRole, let m = member else { return }
        switch role {
        case .debianBinary:
            try checkFormatVersion(m)
            stage = .beforeControl
        case .control, .data:
            guard let decompressor else { return }
            while true {
                let out: UnsafeRawBufferPointer
                do { out = try decompressor.finish() } catch {
                    throw .decompression(error, member: m.name, memberOffset: m.dataOffset)
                }
                if out.count == 0 { break }
                try feedTar(out, role: role, member: m)
            }
            do {
                try tar.finish()
            } catch {
                throw error.inMember(m.name, at: m.dataOffset)
            }
            self.decompressor = nil
            if role == .control {
                guard let file = controlSink.controlFile else {
                    throw DebianPackageError(.badControl, offset: tar.offset, entry: "control",
                                             "'\(m.name)' has no 'control' file").inMember(m.name, at: m.dataOffset)
                }
                let parsed: DebControl
                do { parsed = try DebControl(parsing: file) } catch { throw error.inMember(m.name, at: m.dataOffset) }
                control = parsed
                data.handler.control(parsed)
                stage = .beforeData
            } else {
                data.tarSize = tar.offset
                stage = .afterData
            }
        default:
            break
        }
        memberRole = nil
    }

    func finish(at offset: Int64) throws(DebianPackageError) -> DebArchiveSummary {
        guard stage == .afterData, let control else {
            let missing = stage == .debianBinary ? "debian-binary" : stage == .beforeControl ? "control.tar" : "data.tar"
            throw DebianPackageError(.badStructure, offset: offset, "the archive ends without a '\(missing)' member (truncated?)")
        }
        var s = DebArchiveSummary(control: control, controlMember: controlMember, dataMember: dataMember,
                                  dataCompression: dataFormat, dataTarSize: data.tarSize)
        s.regularFiles = data.regularFiles
        s.hardlinks = data.hardlinks
        s.symlinks = data.symlinks
        s.directories = data.directories
        s.others = data.others
        s.contentBytes = data.contentBytes
        return s
    }

    private mutating func startStream(_ format: CompressionFormat, member m: ArMember, maxOutput: Int64) throws(DebianPackageError) {
        var options = decompression
        options.maxOutput = maxOutput
        if m.size < options.threadsMinimumInput { options.threads = 1 }
        do { decompressor = try Decompressor(format, options: options) } catch {
            throw .decompression(error, member: m.name, memberOffset: m.dataOffset)
        }
        tar = TarParser(limits: limits)
    }

    private mutating func feedTar(_ bytes: UnsafeRawBufferPointer, role: Stage, member m: ArMember) throws(DebianPackageError) {
        do {
            if role == .control { try tar.consume(bytes, into: &controlSink) } else { try tar.consume(bytes, into: &data) }
        } catch {
            throw error.inMember(m.name, at: m.dataOffset)
        }
    }

    private func checkFormatVersion(_ m: ArMember) throws(DebianPackageError) {
        // "2.0\n"; dpkg accepts any 2.x and lines after the first.
        let line = versionBytes.prefix { $0 != 0x0a }
        let text = String(decoding: line, as: UTF8.self)
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard versionBytes.contains(0x0a), parts.count == 2, parts[0] == "2", !parts[1].isEmpty,
              parts[1].utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw DebianPackageError(.badStructure, offset: m.dataOffset, entry: "debian-binary", field: "version",
                                     "unsupported .deb format version '\(printable(line))' (expected '2.x' and a newline)")
        }
    }

    static func format(_ name: String, base: String, allowed: [CompressionFormat]) -> CompressionFormat? {
        guard name.hasPrefix(base), let f = CompressionFormat(suffix: name.dropFirst(base.count)), allowed.contains(f) else { return nil }
        return f
    }
}

/// control.tar: keeps the `control` file, bounded; checks paths like data.tar.
struct ControlSink: TarSink {
    let limits: DebianPackageLimits
    var controlFile: [UInt8]?
    private var collecting = false

    init(limits: DebianPackageLimits) { self.limits = limits }

    mutating func entry(_ entry: TarEntry) throws(DebianPackageError) {
        let path = try DebPath.installed(entry.name, offset: entry.headerOffset)
        collecting = entry.kind == .regular && path == Array("/control".utf8)
        if collecting {
            guard controlFile == nil else {
                throw DebianPackageError(.duplicatePath, offset: entry.headerOffset, entry: entry.displayName, "two 'control' files")
            }
            guard entry.size <= Int64(limits.maxControlFileSize) else {
                throw DebianPackageError.limit("the control file", entry.size, max: Int64(limits.maxControlFileSize),
                                               offset: entry.headerOffset, entry: entry.displayName, field: "size")
            }
            controlFile = []
        }
    }

    mutating func data(_ bytes: UnsafeRawBufferPointer) throws(DebianPackageError) {
        if collecting { controlFile?.append(contentsOf: bytes) }
    }

    mutating func endOfEntry() throws(DebianPackageError) { collecting = false }
}

/// data.tar: installed paths, duplicates and hard links checked, then handed to the handler.
struct DataSink<Handler: DebContentHandler>: TarSink {
    var handler: Handler
    let limits: DebianPackageLimits
    /// Every non-directory path seen, and whether it is a regular file (a valid hard-link target).
    private var seen = [[UInt8]: Bool]()
    private var directories_ = Set<[UInt8]>()
    var tarSize: Int64 = 0
    var regularFiles = 0, hardlinks = 0, symlinks = 0, directories = 0, others = 0
    var contentBytes: Int64 = 0

    init(handler: Handler, limits: DebianPackageLimits) {
        self.handler = handler
        self.limits = limits
    }

    mutating func entry(_ e: TarEntry) throws(DebianPackageError) {
        let path = try DebPath.installed(e.name, offset: e.headerOffset)
        if e.kind == .directory {
            guard seen[path] == nil else { throw duplicate(e, path) }
            directories_.insert(path)
            directories += 1
        } else {
            guard path != [UInt8(ascii: "/")] else {
                throw DebianPackageError(.unsafePath, offset: e.headerOffset, entry: e.displayName, field: "name",
                                         "a \(e.kind) entry at the root directory itself")
            }
            guard seen[path] == nil, !directories_.contains(path) else { throw duplicate(e, path) }
            seen[path] = e.kind == .regular
        }
        var target = [UInt8]()
        switch e.kind {
        case .regular:
            regularFiles += 1
            contentBytes += e.size
        case .hardlink:
            target = try DebPath.installed(e.linkName, offset: e.headerOffset)
            guard seen[target] == true else {
                throw DebianPackageError(.badHardlink, offset: e.headerOffset, entry: e.displayName, field: "linkname",
                                         "hard link to '\(printable(e.linkName))', which is not an earlier regular file of the archive")
            }
            hardlinks += 1
        case .symlink:
            target = e.linkName
            symlinks += 1
        case .directory:
            break
        case .characterDevice, .blockDevice, .fifo:
            others += 1
        }
        handler.entry(DebEntry(kind: e.kind, path: path, linkTarget: target, size: e.kind == .regular ? e.size : 0,
                               mode: e.mode, tarOffset: e.headerOffset))
    }

    mutating func data(_ bytes: UnsafeRawBufferPointer) throws(DebianPackageError) { handler.data(bytes) }

    mutating func endOfEntry() throws(DebianPackageError) { handler.endOfEntry() }

    private func duplicate(_ e: TarEntry, _ path: [UInt8]) -> DebianPackageError {
        DebianPackageError(.duplicatePath, offset: e.headerOffset, entry: e.displayName, field: "name",
                           "'\(printable(path))' appears twice in the archive")
    }
}
