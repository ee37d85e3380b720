import BootReference
import Foundation
import IMAFormat
import SignetCrypto
import SignetTestSupport
import TCGEventLog
import XCTest

let bootHashing = TCGHashing(IMALogHashing())

/// A small PE/COFF image built byte by byte: PE32 or PE32+, sections whose table order is the reverse of
/// their file order (the digest must sort them), trailing data, no certificate table.
func makePE(pe32Plus: Bool = true, sections: [[UInt8]] = [Array(repeating: 0xc3, count: 0x200), Array("data".utf8) + Array(repeating: 7, count: 0x1fc)],
            trailing: [UInt8] = Array(repeating: 0x5a, count: 64)) -> [UInt8] {
    func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8 & 0xff)] }
    func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(v >> (8 * $0) & 0xff) } }
    let optionalSize = pe32Plus ? 240 : 224
    let peAt = 0x80
    let headersEnd = peAt + 24 + optionalSize + 40 * sections.count
    let sizeOfHeaders = (headersEnd + 0x1ff) / 0x200 * 0x200
    var offsets = [Int]()
    var at = sizeOfHeaders
    for s in sections { offsets.append(at); at += s.count }
    var out = [UInt8](repeating: 0, count: 64)
    out[0] = 0x4d; out[1] = 0x5a
    out.replaceSubrange(0x3c..<0x40, with: le32(peAt))
    out += [UInt8](repeating: 0, count: peAt - 64)
    out += Array("PE".utf8) + [0, 0]
    out += le16(pe32Plus ? 0x8664 : 0x14c) + le16(sections.count) + le32(0) + le32(0) + le32(0) + le16(optionalSize) + le16(pe32Plus ? 0x22 : 0x102)
    var opt = [UInt8](repeating: 0, count: optionalSize)
    opt.replaceSubrange(0..<2, with: le16(pe32Plus ? 0x20b : 0x10b))
    opt.replaceSubrange(16..<20, with: le32(0x1000))  // AddressOfEntryPoint
    opt.replaceSubrange(32..<36, with: le32(0x1000))  // SectionAlignment
    opt.replaceSubrange(36..<40, with: le32(0x200))   // FileAlignment
    opt.replaceSubrange(56..<60, with: le32(0x1000 * (sections.count + 1)))  // SizeOfImage
    opt.replaceSubrange(60..<64, with: le32(sizeOfHeaders))
    opt.replaceSubrange(64..<68, with: le32(0x1234_5678))  // CheckSum: not hashed
    opt.replaceSubrange(68..<70, with: le16(10))  // EFI application
    let dirs = pe32Plus ? 112 : 96
    opt.replaceSubrange((dirs - 4)..<dirs, with: le32(16))
    out += opt
    // The table lists the sections in reverse file order.
    for i in sections.indices.reversed() {
        var h = Array(".s\(i)".utf8) + [UInt8](repeating: 0, count: 8 - ".s\(i)".utf8.count)
        h += le32(sections[i].count) + le32(0x1000 * (i + 1)) + le32(sections[i].count) + le32(offsets[i])
        h += [UInt8](repeating: 0, count: 12) + le32(0x6000_0020)
        out += h
    }
    out += [UInt8](repeating: 0, count: sizeOfHeaders - out.count)
    for s in sections { out += s }
    return out + trailing
}

final class AuthenticodeTests: XCTestCase {
    private var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "signet-authenticode-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    static let debianKernel = "/var/cache/signet/kernel/linux-image-6.12.118+deb12-amd64/boot/vmlinuz-6.12.118+deb12-amd64"

    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let path = "\(dir)/\(name)"
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    /// osslsigncode verify's "Current message digest" (the one the signature carries) and "Calculated message digest".
    func ossl(_ path: String) throws -> (current: String, calculated: String) {
        let tool = try requiredTool("osslsigncode", package: "osslsigncode")
        let result = try runProgram(tool, ["verify", "-in", path])
        func field(_ name: String) -> String {
            for line in result.stdout.split(separator: "\n") where line.hasPrefix(name) {
                return line.split(separator: ":").last!.trimmingCharacters(in: .whitespaces).lowercased()
            }
            return ""
        }
        let out = (field("Current message digest"), field("Calculated message digest"))
        XCTAssertEqual(out.0.count, 64, "osslsigncode printed no digest: \(result.stdout) \(result.stderr)")
        return out
    }

    func testKernelDigestEqualsOsslsigncode() throws {
        guard FileManager.default.fileExists(atPath: Self.debianKernel) else {
            throw XCTSkip("\(Self.debianKernel) is not cached: run the e2e kernel download first")
        }
        let kernel = Array(try Data(contentsOf: URL(fileURLWithPath: Self.debianKernel)))
        let layout = try Authenticode.layout(of: kernel)
        XCTAssertEqual(layout.optionalHeaderMagic, 0x20b)
        XCTAssertNotNil(layout.certificateTable, "Debian's kernel is signed")
        let ours = Hex.encode(try Authenticode.digest(of: kernel, hashing: bootHashing))
        let theirs = try ossl(Self.debianKernel)
        XCTAssertEqual(ours, theirs.calculated)
        XCTAssertEqual(ours, theirs.current, "Debian's signature covers the same digest")
    }

    /// A test key and self-signed certificate for osslsigncode and sbsign.
    func testKey() throws -> (key: String, cert: String) {
        let openssl = try requiredTool("openssl", package: "openssl")
        let key = "\(dir)/key.pem", cert = "\(dir)/cert.pem"
        let r = try runProgram(openssl, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=signet boot test",
                                         "-days", "1", "-keyout", key, "-out", cert])
        XCTAssertEqual(r.status, 0, r.stderr)
        return (key, cert)
    }

    func testSmallImagesSignedByOsslsigncodeAndSbsign() throws {
        let tool = try requiredTool("osslsigncode", package: "osslsigncode")
        let (key, cert) = try testKey()
        for pe32Plus in [true, false] {
            let image = makePE(pe32Plus: pe32Plus)
            let unsigned = write("small-\(pe32Plus).efi", image)
            let signed = "\(dir)/small-\(pe32Plus).signed.efi"
            let r = try runProgram(tool, ["sign", "-certs", cert, "-key", key, "-in", unsigned, "-out", signed])
            XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
            let signedBytes = Array(try Data(contentsOf: URL(fileURLWithPath: signed)))
            XCTAssertNotNil(try Authenticode.layout(of: signedBytes).certificateTable)
            let theirs = try ossl(signed)
            XCTAssertEqual(Hex.encode(try Authenticode.digest(of: signedBytes, hashing: bootHashing)), theirs.calculated, "PE32+ \(pe32Plus)")
            XCTAssertEqual(theirs.current, theirs.calculated)
            // Signing does not change the digest (the certificate table and CheckSum are not hashed).
            XCTAssertEqual(Hex.encode(try Authenticode.digest(of: image, hashing: bootHashing)), theirs.calculated)
        }
        // sbsign (sbsigntool) computes its own digest and puts it in the signature: osslsigncode's "current".
        guard let sbsign = which("sbsign") else { throw XCTSkip("sbsign (sbsigntool) not installed") }
        let image = makePE()
        let unsigned = write("sb.efi", image)
        let r = try runProgram(sbsign, ["--key", key, "--cert", cert, "--output", "\(dir)/sb.signed.efi", unsigned])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let signedBytes = Array(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/sb.signed.efi")))
        let theirs = try ossl("\(dir)/sb.signed.efi")
        XCTAssertEqual(Hex.encode(try Authenticode.digest(of: signedBytes, hashing: bootHashing)), theirs.current)
    }

    func testSectionOrderAndExcludedFieldsMatter() throws {
        let image = makePE()
        let digest = try Authenticode.digest(of: image, hashing: bootHashing)
        let layout = try Authenticode.layout(of: image)
        XCTAssertEqual(layout.sections.map(\.offset), layout.sections.map(\.offset).sorted())
        // CheckSum is not hashed; a byte of a section is.
        var changed = image
        changed[layout.checksumOffset] ^= 0xff
        XCTAssertEqual(try Authenticode.digest(of: changed, hashing: bootHashing), digest)
        changed = image
        changed[layout.sections[1].offset + 3] ^= 1
        XCTAssertNotEqual(try Authenticode.digest(of: changed, hashing: bootHashing), digest)
        changed = image
        changed[image.count - 1] ^= 1  // trailing data is hashed
        XCTAssertNotEqual(try Authenticode.digest(of: changed, hashing: bootHashing), digest)
    }

    func testHostileHeadersGiveTypedErrors() throws {
        let image = makePE()
        func code(_ bytes: [UInt8]) -> AuthenticodeError.Code? {
            do { _ = try Authenticode.digest(of: bytes, hashing: bootHashing); return nil } catch { return error.code }
        }
        func patch(_ at: Int, _ v: [UInt8]) -> [UInt8] { var b = image; b.replaceSubrange(at..<(at + v.count), with: v); return b }
        XCTAssertEqual(code([]), .truncated)
        XCTAssertEqual(code(patch(0, [0x4e])), .notPE)
        XCTAssertEqual(code(patch(0x3c, [0xff, 0xff, 0xff, 0x7f])), .truncated)
        XCTAssertEqual(code(patch(0x80, [0x50, 0x46])), .notPE)
        XCTAssertEqual(code(patch(0x86, [0xff, 0x00])), .tooManySections)
        XCTAssertEqual(code(patch(0x98, [0x0b, 0x03])), .unknownOptionalHeader)
        XCTAssertEqual(code(patch(0x98 + 60, [0xff, 0xff, 0xff, 0x00])), .headerOutOfBounds)  // SizeOfHeaders
        XCTAssertEqual(code(patch(0x98 + 108, [0xff, 0xff, 0xff, 0xff])), .headerOutOfBounds)  // NumberOfRvaAndSizes
        XCTAssertEqual(code(patch(0x98 + 112 + 32, [0, 0x10, 0, 0, 0x10, 0, 0, 0])), .certificateTableOutOfBounds)
        let firstSection = 0x98 + 240
        XCTAssertEqual(code(patch(firstSection + 16, [0xff, 0xff, 0xff, 0x7f])), .sectionOutOfBounds)
        XCTAssertEqual(code(patch(firstSection + 20, [0xff, 0xff, 0xff, 0xff])), .sectionOutOfBounds)
    }

    /// Every truncation of a small image, and random byte changes, give a digest or a typed error: never a trap.
    func testEveryTruncationAndRandomCorruptionIsHandled() throws {
        let image = makePE()
        var accepted = 0
        for n in 0...image.count {
            if (try? Authenticode.digest(of: Array(image.prefix(n)), hashing: bootHashing)) != nil { accepted += 1 }
        }
        // Only cuts inside the trailing data keep the headers and sections whole.
        XCTAssertEqual(accepted, 65)
        var rng = SeededGenerator(seed: 16)
        for _ in 0..<2000 {
            var b = image
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                b[Int.random(in: 0..<0x200, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            _ = try? Authenticode.digest(of: b, hashing: bootHashing)
        }
    }
}
