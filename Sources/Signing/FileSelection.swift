#if canImport(Glibc)
import Glibc
#endif
import Provenance

/// Which files of a tree to sign or appraise.
public struct FileSelection: Sendable {
    public enum Mode: String, Sendable, CaseIterable {
        /// Every regular file.
        case all
        /// Executable code only: ELF executables and shared objects, files
        /// with an exec bit, kernel modules (`*.ko`, `*.ko.xz`, `*.ko.zst`, `*.ko.gz`),
        /// and what else the kernel loads as code: firmware (`lib/firmware/`,
        /// `usr/lib/firmware/`) and kexec images (`boot/vmlinuz-*`, `boot/initrd.img-*`).
        case code
    }

    public var mode: Mode
    /// Globs over the path inside the tree (`usr/bin/*`); `*` also matches `/`.
    /// When non-empty, a file must match one of them.
    public var includes: [String]
    /// Globs for files and directories to leave out; a matching directory is not entered.
    public var excludes: [String]
    /// Enter directories on other filesystems (off: like `find -xdev`).
    public var crossFilesystems: Bool

    public init(mode: Mode = .all, includes: [String] = [], excludes: [String] = [], crossFilesystems: Bool = false) {
        self.mode = mode
        self.includes = includes
        self.excludes = excludes
        self.crossFilesystems = crossFilesystems
    }

    func isExcluded(_ relative: FilePath) -> Bool {
        excludes.contains { Self.matches($0, relative) }
    }

    func isIncluded(_ relative: FilePath) -> Bool {
        includes.isEmpty || includes.contains { Self.matches($0, relative) }
    }

    static func matches(_ pattern: String, _ path: FilePath) -> Bool {
        path.withCString { fnmatch(pattern, $0, 0) == 0 }
    }

    /// Decision made from the name and mode alone, before reading content.
    enum CodeHint: Sendable { case code, checkELFHeader }

    static func codeHint(name: [UInt8], mode: mode_t, relative: FilePath? = nil) -> CodeHint {
        if mode & 0o111 != 0 { return .code }
        for suffix in [".ko", ".ko.xz", ".ko.zst", ".ko.gz"] where name.reversed().starts(with: suffix.utf8.reversed()) {
            return .code
        }
        if let relative, isKernelLoadedCode(relative) { return .code }
        return .checkELFHeader
    }

    /// Files the kernel reads as code under FIRMWARE_CHECK and KEXEC_*_CHECK,
    /// by their place in an image: firmware and the kernels and initramfs
    /// images kexec may load. Paths are relative to the tree's root.
    public static func isKernelLoadedCode(_ relative: FilePath) -> Bool {
        let bytes = relative.bytes
        for prefix in ["lib/firmware/", "usr/lib/firmware/"] where bytes.starts(with: prefix.utf8) {
            return true
        }
        for prefix in ["boot/vmlinuz-", "boot/initrd.img-"] where bytes.starts(with: prefix.utf8) {
            return !bytes.dropFirst(prefix.utf8.count).contains(UInt8(ascii: "/"))
        }
        return false
    }

    /// True for an ELF executable or shared object (e_type ET_EXEC or ET_DYN).
    public static func isELFCode(header: UnsafeRawBufferPointer) -> Bool {
        guard header.count >= 18, header[0] == 0x7f, header[1] == UInt8(ascii: "E"),
              header[2] == UInt8(ascii: "L"), header[3] == UInt8(ascii: "F") else { return false }
        // e_type is at offset 16 in the ELF data encoding (EI_DATA at 5: 1 little, 2 big).
        let type = header[5] == 2 ? UInt16(header[16]) << 8 | UInt16(header[17])
                                  : UInt16(header[17]) << 8 | UInt16(header[16])
        return type == 2 || type == 3
    }
}
