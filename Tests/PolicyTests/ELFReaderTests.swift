import XCTest
import SignetCrypto
import SignetTestSupport
@testable import Policy

/// The ELF reader behind `policy check`'s loader and library checks: real files
/// from this host, synthetic files of every class and byte order, and hostile ones.
final class ELFReaderTests: XCTestCase {
    /// A minimal ELF: one PT_LOAD mapping the whole file at address 0, PT_INTERP, PT_DYNAMIC.
    static func makeELF(is64: Bool = true, big: Bool = false, interpreter: String? = "/lib/ld.so.1",
                        needed: [String] = ["libc.so.6"], runpath: String? = nil, machine: UInt16 = 62) -> [UInt8] {
        let w = is64 ? 8 : 4
        func int(_ v: UInt64, _ width: Int) -> [UInt8] {
            let le = (0..<width).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) }
            return big ? le.reversed() : le
        }
        let headerSize = is64 ? 64 : 52, phentsize = is64 ? 56 : 32
        let phnum = 3
        let interpOffset = headerSize + phnum * phentsize
        let interpBytes: [UInt8] = interpreter.map { (s: String) -> [UInt8] in Array(s.utf8) + [0] } ?? []
        let strtabOffset = interpOffset + interpBytes.count
        var strtab: [UInt8] = [0]
        var neededOffsets: [UInt64] = []
        for name in needed { neededOffsets.append(UInt64(strtab.count)); strtab += Array(name.utf8) + [0] }
        var runpathOffset: UInt64?
        if let runpath { runpathOffset = UInt64(strtab.count); strtab += Array(runpath.utf8) + [0] }
        let dynOffset = strtabOffset + strtab.count
        var dyn: [UInt8] = []
        for o in neededOffsets { dyn += int(1, w) + int(o, w) }
        if let runpathOffset { dyn += int(29, w) + int(runpathOffset, w) }
        dyn += int(5, w) + int(UInt64(strtabOffset), w) + int(10, w) + int(UInt64(strtab.count), w) + int(0, w) + int(0, w)
        let total = dynOffset + dyn.count

        var out: [UInt8] = [0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, big ? 2 : 1, 1, 0] + [UInt8](repeating: 0, count: 8)
        out += int(3, 2) + int(UInt64(machine), 2) + int(1, 4)              // e_type ET_DYN, e_machine, e_version
        out += int(0, w) + int(UInt64(headerSize), w) + int(0, w)           // e_entry, e_phoff, e_shoff
        out += int(0, 4) + int(UInt64(headerSize), 2) + int(UInt64(phentsize), 2) + int(UInt64(phnum), 2)
        out += int(0, 2) + int(0, 2) + int(0, 2)                            // e_shentsize, e_shnum, e_shstrndx
        XCTAssertEqual(out.count, headerSize)
        func phdr(_ type: UInt64, _ offset: Int, _ size: Int) -> [UInt8] {
            if is64 {
                return int(type, 4) + int(5, 4) + int(UInt64(offset), 8) + int(UInt64(offset), 8) + int(UInt64(offset), 8)
                    + int(UInt64(size), 8) + int(UInt64(size), 8) + int(8, 8)
            }
            return int(type, 4) + int(UInt64(offset), 4) + int(UInt64(offset), 4) + int(UInt64(offset), 4)
                + int(UInt64(size), 4) + int(UInt64(size), 4) + int(5, 4) + int(4, 4)
        }
        out += phdr(1, 0, total)
        out += interpreter == nil ? phdr(4, 0, 0) : phdr(3, interpOffset, interpBytes.count)   // PT_NOTE stands in
        out += phdr(2, dynOffset, dyn.count)
        out += interpBytes + strtab + dyn
        XCTAssertEqual(out.count, total)
        return out
    }

    func testRealProgramAndLibraryFromThisHost() throws {
        let truePath = "/bin/true"
        let deps = try ELFReader.dependencies(path: truePath)
        XCTAssertEqual(deps.elfClass, .elf64)
        XCTAssertFalse(deps.bigEndian)
        XCTAssertEqual(deps.machine, 62)
        XCTAssertEqual(deps.interpreter, "/lib64/ld-linux-x86-64.so.2")
        XCTAssertEqual(deps.needed, ["libc.so.6"])
        // The same from bytes as from the file.
        XCTAssertEqual(try ELFReader.dependencies(of: try FileBytes.read(truePath)), deps)
        let ls = try ELFReader.dependencies(path: "/bin/ls")
        XCTAssertTrue(ls.needed.contains("libselinux.so.1") && ls.needed.contains("libc.so.6"), "\(ls.needed)")
        let libselinux = try ELFReader.dependencies(path: "/lib/x86_64-linux-gnu/libselinux.so.1")
        XCTAssertNil(libselinux.interpreter)
        XCTAssertTrue(libselinux.needed.contains("libpcre2-8.so.0"), "\(libselinux.needed)")
        XCTAssertThrowsError(try ELFReader.dependencies(path: "/etc/hostname")) { XCTAssertEqual($0 as? ELFError, .notELF) }
        XCTAssertThrowsError(try ELFReader.dependencies(path: "/nonexistent/x")) {
            guard case .unreadable(let path, let e)? = $0 as? ELFError else { return XCTFail("\($0)") }
            XCTAssertEqual(path, "/nonexistent/x")
            XCTAssertEqual(e, ENOENT)
        }
    }

    func testEveryClassAndByteOrder() throws {
        for is64 in [true, false] {
            for big in [true, false] {
                let bytes = Self.makeELF(is64: is64, big: big, interpreter: "/lib/ld-2.36-custom.so",
                                         needed: ["libc.so.6", "libfoo.so.1"], runpath: "$ORIGIN/../lib:/opt/lib", machine: 21)
                let deps = try ELFReader.dependencies(of: bytes)
                XCTAssertEqual(deps.elfClass, is64 ? .elf64 : .elf32)
                XCTAssertEqual(deps.bigEndian, big)
                XCTAssertEqual(deps.machine, 21)
                XCTAssertEqual(deps.interpreter, "/lib/ld-2.36-custom.so")
                XCTAssertEqual(deps.needed, ["libc.so.6", "libfoo.so.1"])
                XCTAssertEqual(deps.searchPath, ["$ORIGIN/../lib", "/opt/lib"])
            }
        }
        let library = try ELFReader.dependencies(of: Self.makeELF(interpreter: nil, needed: []))
        XCTAssertNil(library.interpreter)
        XCTAssertEqual(library.needed, [])
    }

    func testTruncatedFilesGiveTypedErrorsAtEveryLength() throws {
        let whole = Self.makeELF()
        for n in 0..<whole.count {
            XCTAssertThrowsError(try ELFReader.dependencies(of: Array(whole.prefix(n))), "length \(n)") { error in
                guard let e = error as? ELFError else { return XCTFail("\(error)") }
                switch e {
                case .notELF: XCTAssertLessThan(n, 16)
                case .outOfBounds(_, _, _, let size): XCTAssertLessThanOrEqual(size, UInt64(n))
                default: XCTFail("length \(n): \(e)")
                }
            }
        }
        // Real files cut short: never a crash, always a typed error or a partial answer.
        let real = try FileBytes.read("/bin/true")
        for n in stride(from: 0, to: 4096, by: 7) { _ = try? ELFReader.dependencies(of: Array(real.prefix(n))) }
    }

    /// Writes `value` as little-endian into `bytes` at `offset`.
    func patch(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt64, _ width: Int) {
        for i in 0..<width { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }

    func testHostileHeadersNameTheField() throws {
        let good = Self.makeELF()
        func error(_ mutate: (inout [UInt8]) -> Void) -> ELFError? {
            var b = good
            mutate(&b)
            do { _ = try ELFReader.dependencies(of: b); return nil } catch { return error }
        }
        XCTAssertEqual(error { $0[4] = 3 }, .badIdentification(field: "EI_CLASS", value: 3))
        XCTAssertEqual(error { $0[5] = 0 }, .badIdentification(field: "EI_DATA", value: 0))
        XCTAssertEqual(error { self.patch(&$0, 56, 0xffff, 2) }, .tooMany(field: "e_phnum", count: 0xffff, limit: 512))
        XCTAssertEqual(error { self.patch(&$0, 54, 8, 2) }, .badEntrySize(field: "e_phentsize", size: 8, minimum: 56))
        XCTAssertEqual(error { self.patch(&$0, 54, 0xffff, 2) }, .tooMany(field: "e_phentsize bytes", count: 0xffff, limit: 256))
        // e_phoff near the top of the address space: no overflow, a bounds error.
        XCTAssertEqual(error { self.patch(&$0, 32, UInt64.max - 10, 8) },
                       .outOfBounds(field: "program header table", offset: UInt64.max - 10, length: 3 * 56, size: UInt64(good.count)))
        // PT_INTERP (second program header) pointing past the end, too long, without its NUL.
        let interp = 64 + 56
        XCTAssertEqual(error { self.patch(&$0, interp + 8, 1 << 40, 8) },
                       .outOfBounds(field: "PT_INTERP", offset: 1 << 40, length: 13, size: UInt64(good.count)))
        XCTAssertEqual(error { self.patch(&$0, interp + 32, 1 << 20, 8) }, .tooMany(field: "PT_INTERP length", count: 1 << 20, limit: 4096))
        XCTAssertEqual(error { $0[64 + 3 * 56 + 12] = 0x41 }, .unterminatedString(field: "PT_INTERP", offset: UInt64(64 + 3 * 56)))
        // PT_DYNAMIC too large; DT_STRTAB outside every PT_LOAD; a DT_NEEDED offset past the table.
        let dynamic = 64 + 2 * 56
        XCTAssertEqual(error { self.patch(&$0, dynamic + 32, 1 << 30, 8) }, .tooMany(field: "PT_DYNAMIC bytes", count: 1 << 30, limit: 65536))
        let dynOffset = good.count - 4 * 16   // DT_NEEDED, DT_STRTAB, DT_STRSZ, DT_NULL
        XCTAssertEqual(error { self.patch(&$0, dynOffset + 16 + 8, 0xdead_0000, 8) }, .unmappedAddress(field: "DT_STRTAB", address: 0xdead_0000))
        guard case .outOfBounds(let field, _, _, _)? = error({ self.patch(&$0, dynOffset + 8, 5000, 8) }) else {
            return XCTFail("a DT_NEEDED past the string table must be out of bounds")
        }
        XCTAssertEqual(field, "DT_NEEDED")
    }

    func testRandomCorruptionNeverCrashes() throws {
        var rng = SeededGenerator(seed: 14)
        let seeds = [Self.makeELF(), Self.makeELF(is64: false, big: true), Array(try FileBytes.read("/bin/true").prefix(8192))]
        for i in 0..<3000 {
            var b = seeds[i % seeds.count]
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                let at = Int.random(in: 0..<b.count, using: &rng)
                b[at] = UInt8.random(in: 0...255, using: &rng)
            }
            if Bool.random(using: &rng) { b = Array(b.prefix(Int.random(in: 0...b.count, using: &rng))) }
            _ = try? ELFReader.dependencies(of: b)
        }
    }
}
