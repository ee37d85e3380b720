import BootReference
import Foundation
import IMAFormat
import SignetTestSupport
import TCGEventLog
import XCTest

/// A boot as OVMF + shim + grub + the kernel log it (REAL-DEBIAN.md, last section), written with the encoder.
struct BootLog {
    static let microsoft = EFIGUID("77fa9abd-0359-4d32-bd60-28f4e78f784b")!
    static let uefiCA = [0x30, 0x82, 0x00, 0x04, 0xca, 0xca, 0xca, 0xca] as [UInt8]
    static let windowsCA = [0x30, 0x82, 0x00, 0x04, 0x1d, 0x1d, 0x1d, 0x1d] as [UInt8]

    var secureBoot: [UInt8] = [1]
    var applications: [[UInt8]]  // Authenticode sha256 digests: shim, grub, kernel
    var commandLine = "/boot/vmlinuz-6.12 root=/dev/vda2 ro bdev_allow_write_mounted=0 module.sig_enforce=1 quiet"
    var grubConfig = Array("linux /boot/vmlinuz-6.12\n".utf8)
    var kernelFile = Array("kernel file".utf8)
    var initrd = Array("initrd new".utf8)
    var dbx: [[UInt8]] = [[UInt8](repeating: 0xaa, count: 32), [UInt8](repeating: 0xbb, count: 32)]
    /// Called after the event it names is written, to append hostile events.
    var extra: [String: (inout TCGEventLogEncoder) -> Void] = [:]

    static func sha256(_ bytes: [UInt8]) -> [UInt8] { bootHashing.hash(.sha256, [bytes])! }

    func variable(_ vendor: EFIGUID, _ name: String, _ data: [UInt8]) -> [UInt8] { TCGEventData.variable(vendor: vendor, name: name, data: data) }

    func bytes() -> [UInt8] {
        let h = bootHashing
        var e = TCGEventLogEncoder(banks: [.sha1, .sha256])
        e.append(pcr: 0, type: .sCRTMVersion, data: TCGEventData.crtmVersion(""), hashing: h)
        e.append(pcr: 0, type: .efiPlatformFirmwareBlob, data: TCGEventData.firmwareBlob(base: 0x82_0000, length: 0xe0_0000), measured: [1], hashing: h)
        e.append(pcr: 7, type: .efiVariableDriverConfig, data: variable(.globalVariable, "SecureBoot", secureBoot), hashing: h)
        extra["SecureBoot"]?(&e)
        e.append(pcr: 7, type: .efiVariableDriverConfig, data: variable(.globalVariable, "PK", TCGEventData.signatureLists([
            EFISignatureList(signatureType: .certX509, signatures: [EFISignatureData(owner: Self.microsoft, data: [0x30, 0x82, 0, 2, 9, 9])])])), hashing: h)
        e.append(pcr: 7, type: .efiVariableDriverConfig, data: variable(.globalVariable, "KEK", TCGEventData.signatureLists([
            EFISignatureList(signatureType: .certX509, signatures: [EFISignatureData(owner: Self.microsoft, data: [0x30, 0x82, 0, 2, 8, 8])])])), hashing: h)
        e.append(pcr: 7, type: .efiVariableDriverConfig, data: variable(.imageSecurityDatabase, "db", TCGEventData.signatureLists([
            EFISignatureList(signatureType: .certX509, signatures: [EFISignatureData(owner: Self.microsoft, data: Self.uefiCA),
                                                                   EFISignatureData(owner: Self.microsoft, data: Self.windowsCA)])])), hashing: h)
        e.append(pcr: 7, type: .efiVariableDriverConfig, data: variable(.imageSecurityDatabase, "dbx", TCGEventData.signatureLists([
            EFISignatureList(signatureType: .certSHA256, signatures: dbx.map { EFISignatureData(owner: Self.microsoft, data: $0) })])), hashing: h)
        e.append(pcr: 7, type: .separator, data: TCGEventData.separator(), hashing: h)
        extra["separator7"]?(&e)
        e.append(pcr: 1, type: .efiVariableBoot, data: variable(.globalVariable, "BootOrder", [1, 0]), hashing: h)
        e.append(pcr: 4, type: .efiAction, data: TCGEventData.action("Calling EFI Application from Boot Option"), hashing: h)
        for pcr: UInt32 in 0...6 { e.append(pcr: pcr, type: .separator, data: TCGEventData.separator(), hashing: h) }
        extra["separators"]?(&e)
        let paths = ["\\EFI\\BOOT\\BOOTX64.EFI", "\\EFI\\BOOT\\grubx64.efi", "/boot/vmlinuz-6.12"]
        for (i, digest) in applications.enumerated() {
            e.append(pcr: 4, type: .efiBootServicesApplication,
                     digests: [TCGDigest(.sha1, Array(digest.prefix(20))), TCGDigest(.sha256, digest)],
                     data: TCGEventData.imageLoad(UEFIImageLoad(location: 0x7e00_0000, length: 0x10_0000, linkTimeAddress: 0,
                                                                devicePath: .file(paths[min(i, 2)]))))
            if i == 0 {
                // The db certificate that verified shim, and shim's SbatLevel.
                e.append(pcr: 7, type: .efiVariableAuthority,
                         data: variable(.imageSecurityDatabase, "db", Self.microsoft.bytes + Self.uefiCA), hashing: h)
                e.append(pcr: 7, type: .efiVariableAuthority, data: variable(.shimLock, "SbatLevel", Array("sbat,1,2022111500\n".utf8)), hashing: h)
            }
            if i == 1 {
                e.append(pcr: 9, type: .ipl, data: TCGEventData.ipl("(hd0,gpt1)/EFI/debian/grub.cfg"), measured: grubConfig, hashing: h)
                for cmd in ["set root=(hd0,gpt2)", "linux /boot/vmlinuz-6.12 " + commandLine.split(separator: " ").dropFirst().joined(separator: " ")] {
                    e.append(pcr: 8, type: .ipl, data: TCGEventData.ipl("grub_cmd: " + cmd), measured: Array(cmd.utf8), hashing: h)
                }
                e.append(pcr: 9, type: .ipl, data: TCGEventData.ipl("/boot/vmlinuz-6.12"), measured: kernelFile, hashing: h)
                e.append(pcr: 8, type: .ipl, data: TCGEventData.ipl("kernel_cmdline: " + commandLine), measured: Array(commandLine.utf8), hashing: h)
                extra["cmdline"]?(&e)
                e.append(pcr: 8, type: .ipl, data: TCGEventData.ipl("grub_cmd: initrd /boot/initrd.img-6.12"),
                         measured: Array("initrd /boot/initrd.img-6.12".utf8), hashing: h)
                e.append(pcr: 9, type: .ipl, data: TCGEventData.ipl("/boot/initrd.img-6.12"), measured: initrd, hashing: h)
                extra["initrd"]?(&e)
            }
        }
        e.append(pcr: 5, type: .efiAction, data: TCGEventData.action("Exit Boot Services Invocation"), hashing: h)
        e.append(pcr: 5, type: .efiAction, data: TCGEventData.action("Exit Boot Services Returned with Success"), hashing: h)
        e.append(pcr: 14, type: .ipl, data: TCGEventData.ipl("MokList"), hashing: h)
        return e.bytes
    }

    /// What a TPM that saw exactly these events quotes.
    static func quote(_ bytes: [UInt8]) throws -> [UInt32: [TCGAlgorithm: [UInt8]]] {
        let replay = TCGPCRReplay(try TCGEventLog.parse(bytes), hashing: bootHashing)
        var out = [UInt32: [TCGAlgorithm: [UInt8]]]()
        for bank in [TCGAlgorithm.sha1, .sha256] {
            for pcr: UInt32 in 0...9 { out[pcr, default: [:]][bank] = replay.value(pcr: pcr, bank: bank) }
        }
        return out
    }
}

final class BootJudgeTests: XCTestCase {
    static let shim = BootLog.sha256(Array("shim 15.8".utf8))
    static let grub = BootLog.sha256(Array("grub 2.06".utf8))
    static let oldKernel = BootLog.sha256(Array("kernel 6.12.100".utf8))
    static let newKernel = BootLog.sha256(Array("kernel 6.12.118".utf8))

    static func chain(_ name: String, kernel: [UInt8], initrd: String) -> BootChain {
        BootChain(name: name, applications: [
            BootImage(name: "shimx64.efi", role: .shim, sha256: BootDigest(shim)!),
            BootImage(name: "grubx64.efi", role: .grub, sha256: BootDigest(grub)!),
            BootImage(name: "vmlinuz", role: .kernel, sha256: BootDigest(kernel)!),
        ], initrds: [BootDigest(BootLog.sha256(Array(initrd.utf8)))!],
           grubConfigs: [BootDigest(BootLog.sha256(Array("linux /boot/vmlinuz-6.12\n".utf8)))!],
           kernelFiles: [BootDigest(BootLog.sha256(Array("kernel file".utf8)))!])
    }

    static let reference = BootReference.signetDefault(chains: [chain("new", kernel: newKernel, initrd: "initrd new")])
    static let twoChains = BootReference.signetDefault(chains: [chain("old", kernel: oldKernel, initrd: "initrd old"),
                                                                chain("new", kernel: newKernel, initrd: "initrd new")])

    static var honest: BootLog { BootLog(applications: [shim, grub, newKernel]) }

    func judge(_ boot: BootLog, _ reference: BootReference = BootJudgeTests.reference) throws -> (BootVerdict, TCGEventLog) {
        let bytes = boot.bytes()
        let log = try TCGEventLog.parse(bytes)
        return (BootJudge.judge(log: log, quotedPCRs: try BootLog.quote(bytes), reference: reference, hashing: bootHashing), log)
    }

    func index(_ log: TCGEventLog, _ match: (TCGEvent) -> Bool) throws -> Int { try XCTUnwrap(log.events.first(where: match)).index }

    func testHonestBootPasses() throws {
        let (v, _) = try judge(Self.honest)
        XCTAssertEqual(v.failures, [], "\(v.failures)")
        XCTAssertTrue(v.passed)
        XCTAssertEqual(v.matchedChain, "new")
        XCTAssertEqual(v.secureBoot, true)
        XCTAssertEqual(v.applications.map(\.bytes), [Self.shim, Self.grub, Self.newKernel])
        XCTAssertEqual(v.commandLines, [Self.honest.commandLine])
    }

    func testImaAppraiseLogOnTheCommandLineFailsNamingTheEvent() throws {
        for added in ["ima_appraise=log", "ima-appraise=log", "\"ima_appraise=log\"", "ima_appraise=\"log\""] {
            var boot = Self.honest
            boot.commandLine += " " + added
            let (v, log) = try judge(boot)
            XCTAssertEqual(v.codes, [.commandLineForbiddenParameter], added)
            let f = try XCTUnwrap(v.failures.first)
            XCTAssertEqual(f.eventIndex, try index(log) { if case .ipl(let i) = $0.content, case .kernelCommandLine = i.kind { return true }; return false })
            XCTAssertEqual(f.pcr, 8)
            XCTAssertEqual(f.eventType, "EV_IPL")
            XCTAssertTrue(f.measured?.contains("=log") ?? false, f.description)
            XCTAssertFalse(v.passed)
            XCTAssertNil(v.matchedChain)
        }
    }

    func testCommandLineRules() throws {
        let cases: [(String, [BootFailureCode])] = [
            ("module.sig_enforce=0", [.commandLineForbiddenParameter]),  // the last value wins
            ("module.sig_enforce=0 module.sig_enforce=y", []),
            ("lsm=lockdown,yama", [.commandLineForbiddenParameter]),
            ("lsm=\"lockdown,integrity,apparmor\"", []),
            ("init=/bin/sh", [.commandLineForbiddenParameter]),
            ("ima_policy=tcb|appraise_tcb", []),
            ("ima_policy=tcb ima_policy=evil", [.commandLineForbiddenParameter]),
            ("-- ima_appraise=log", []),  // after "--": init's argument, not the kernel's
        ]
        for (added, codes) in cases {
            var boot = Self.honest
            boot.commandLine += " " + added
            XCTAssertEqual(try judge(boot).0.codes, codes, added)
        }
        var boot = Self.honest
        boot.commandLine = "/boot/vmlinuz-6.12 root=/dev/vda2 ro"
        let (v, _) = try judge(boot)
        XCTAssertEqual(v.codes, [.commandLineMissingParameter, .commandLineMissingParameter])
        XCTAssertEqual(v.failures.map(\.expected), ["bdev_allow_write_mounted=0", "module.sig_enforce=1"])
    }

    func testSecureBootOffFailsNamingTheVariableEvent() throws {
        var boot = Self.honest
        boot.secureBoot = [0]
        let (v, log) = try judge(boot)
        XCTAssertEqual(v.codes, [.secureBootOff])
        XCTAssertEqual(v.secureBoot, false)
        let f = try XCTUnwrap(v.failures.first)
        XCTAssertEqual(f.eventIndex, try index(log) { if case .variable(let x) = $0.content { return x.name == "SecureBoot" }; return false })
        XCTAssertEqual(f.pcr, 7)
        XCTAssertEqual(f.measured, "SecureBoot=0")
    }

    func testAKernelOutsideTheReferenceFails() throws {
        let other = BootLog.sha256(Array("kernel 6.1".utf8))
        let (v, log) = try judge(BootLog(applications: [Self.shim, Self.grub, other]))
        XCTAssertEqual(v.codes, [.kernelNotAllowed])
        let kernelEvent = log.events.filter { $0.eventType == .efiBootServicesApplication }[2]
        XCTAssertEqual(v.failures[0].eventIndex, kernelEvent.index)
        XCTAssertEqual(v.failures[0].measured, "sha256:" + Hex.encode(other))
        XCTAssertTrue(v.failures[0].expected?.contains(Hex.encode(Self.newKernel)) ?? false)
        XCTAssertNil(v.matchedChain)
        // An unknown shim is an unknown application.
        let (v2, _) = try judge(BootLog(applications: [other, Self.grub, Self.newKernel]))
        XCTAssertEqual(v2.codes, [.unknownBootApplication])
        // A chain that stops early (no kernel image measured) and one that runs an extra image.
        XCTAssertEqual(try judge(BootLog(applications: [Self.shim, Self.grub])).0.codes, [.kernelNotAllowed])
        XCTAssertEqual(try judge(BootLog(applications: [Self.shim, Self.grub, Self.newKernel, other])).0.codes, [.unknownBootApplication])
    }

    func testAKernelMeasuredTwiceInARowIsOneImage() throws {
        // Debian's grub under Secure Boot: shim measures the kernel for grub's shim_lock verifier and again for linuxefi.
        let (v, _) = try judge(BootLog(applications: [Self.shim, Self.grub, Self.newKernel, Self.newKernel]))
        XCTAssertEqual(v.failures, [], "\(v.failures)")
        XCTAssertEqual(v.matchedChain, "new")
        XCTAssertEqual(v.applications.count, 4)
        // Repeated or not, a kernel outside the reference fails once; an image between two runs of another is not a repeat.
        let other = BootLog.sha256(Array("kernel 6.1".utf8))
        XCTAssertEqual(try judge(BootLog(applications: [Self.shim, Self.grub, other, other])).0.codes, [.kernelNotAllowed])
        XCTAssertEqual(try judge(BootLog(applications: [Self.shim, Self.grub, Self.newKernel, other, Self.newKernel])).0.codes,
                       [.unknownBootApplication, .unknownBootApplication])
    }

    func testAnEditedDigestFailsTheReplayNamingTheFirstPCR() throws {
        let boot = Self.honest
        let bytes = boot.bytes()
        let quoted = try BootLog.quote(bytes)
        let log = try TCGEventLog.parse(bytes)
        // Edit the sha256 digest of the kernel's PCR 4 event: pcr, type, count, sha1 (2+20), then the sha256 alg id.
        let kernelEvent = log.events.filter { $0.eventType == .efiBootServicesApplication }[2]
        var edited = bytes
        edited[kernelEvent.offset + 12 + 22 + 2] ^= 1
        let v = BootJudge.judge(log: try TCGEventLog.parse(edited), quotedPCRs: quoted, reference: Self.reference, hashing: bootHashing)
        XCTAssertEqual(v.codes, [.replayMismatch])
        XCTAssertEqual(v.failures[0].pcr, 4)
        XCTAssertNil(v.matchedChain)
        // A quote missing a PCR the judgement needs.
        var partial = quoted
        partial[8] = nil
        let v2 = BootJudge.judge(log: log, quotedPCRs: partial, reference: Self.reference, hashing: bootHashing)
        XCTAssertEqual(v2.codes, [.pcrNotQuoted])
        XCTAssertEqual(v2.failures[0].pcr, 8)
    }

    func testTwoChainsAllowed() throws {
        var old = BootLog(applications: [Self.shim, Self.grub, Self.oldKernel])
        old.initrd = Array("initrd old".utf8)
        let (v1, _) = try judge(old, Self.twoChains)
        XCTAssertEqual(v1.failures, [])
        XCTAssertEqual(v1.matchedChain, "old")
        let (v2, _) = try judge(Self.honest, Self.twoChains)
        XCTAssertEqual(v2.failures, [])
        XCTAssertEqual(v2.matchedChain, "new")
        // The new kernel with the old kernel's initrd matches neither.
        var mixed = Self.honest
        mixed.initrd = Array("initrd old".utf8)
        let (v3, log) = try judge(mixed, Self.twoChains)
        XCTAssertEqual(v3.codes, [.initrdNotAllowed])
        XCTAssertEqual(v3.failures[0].pcr, 9)
        XCTAssertEqual(v3.failures[0].eventIndex, try index(log) { if case .ipl(let i) = $0.content { return i.text == "/boot/initrd.img-6.12" }; return false })
    }

    func testFilesAreJudgedByDigest() throws {
        var boot = Self.honest
        boot.grubConfig = Array("linux /boot/vmlinuz-6.12 init=/bin/sh\n".utf8)
        XCTAssertEqual(try judge(boot).0.codes, [.grubConfigNotAllowed])
        boot = Self.honest
        boot.extra["initrd"] = { e in
            e.append(pcr: 9, type: .ipl, data: TCGEventData.ipl("/boot/grub/custom.cfg"), measured: Array("evil".utf8), hashing: bootHashing)
        }
        XCTAssertEqual(try judge(boot).0.codes, [.unknownBootFile])
        var lenient = Self.reference
        lenient.allowsUnlistedFiles = true
        XCTAssertEqual(try judge(boot, lenient).0.codes, [])
    }

    func testContentTheDigestDoesNotCoverFails() throws {
        // The kernel_cmdline event shows an honest line but extends the digest of another one.
        var boot = Self.honest
        boot.extra["cmdline"] = { e in
            e.append(pcr: 8, type: .ipl, digests: [TCGDigest(.sha1, [UInt8](repeating: 1, count: 20)),
                                                   TCGDigest(.sha256, BootLog.sha256(Array("/boot/vmlinuz init=/bin/sh".utf8)))],
                     data: TCGEventData.ipl("kernel_cmdline: " + Self.honest.commandLine))
        }
        let (v, log) = try judge(boot)
        XCTAssertEqual(v.codes, [.eventDigestMismatch])
        XCTAssertEqual(v.failures[0].eventIndex, log.events.filter { $0.pcrIndex == 8 }.map(\.index)[3])
        // A PCR 4 application relabelled as an action.
        boot = Self.honest
        boot.extra["initrd"] = { e in
            e.append(pcr: 4, type: .efiAction, digests: [TCGDigest(.sha1, [UInt8](repeating: 1, count: 20)),
                                                        TCGDigest(.sha256, BootLog.sha256(Array("evil.efi".utf8)))],
                     data: TCGEventData.action("Returning from EFI Application from Boot Option"))
        }
        XCTAssertEqual(try judge(boot).0.codes, [.eventDigestMismatch])
    }

    func testHostileAndMalformedEvents() throws {
        // A SecureBoot variable with two bytes: malformed content, and then no SecureBoot value at all.
        var boot = Self.honest
        boot.secureBoot = [1, 1]
        XCTAssertEqual(try judge(boot).0.codes, [.malformedEvent, .secureBootOff])
        // A variable measured after PCR 7's separator.
        boot = Self.honest
        boot.extra["separator7"] = { e in
            e.append(pcr: 7, type: .efiVariableDriverConfig,
                     data: TCGEventData.variable(vendor: .globalVariable, name: "SecureBoot", data: [1]), hashing: bootHashing)
        }
        XCTAssertEqual(try judge(boot).0.codes, [.eventAfterSeparator])
        // A second separator, an error separator, an event after PCR 0's separator.
        boot = Self.honest
        boot.extra["separators"] = { e in
            e.append(pcr: 2, type: .separator, data: TCGEventData.separator(), hashing: bootHashing)
            e.append(pcr: 3, type: .efiAction, data: TCGEventData.action("late"), hashing: bootHashing)
        }
        XCTAssertEqual(try judge(boot).0.codes, [.separatorError, .eventAfterSeparator])
        // A truncated image-load event in PCR 4.
        boot = Self.honest
        boot.extra["SecureBoot"] = { e in
            e.append(pcr: 4, type: .efiBootServicesApplication, data: [1, 2, 3], hashing: bootHashing)
        }
        let (v, log) = try judge(boot)
        XCTAssertEqual(v.codes, [.malformedEvent])
        XCTAssertEqual(v.failures[0].eventIndex, try index(log) { $0.pcrIndex == 4 && $0.eventType == .efiBootServicesApplication })
        // An unknown event type in PCR 8.
        boot = Self.honest
        boot.extra["cmdline"] = { e in e.append(pcr: 8, type: TCGEventType(rawValue: 0x77), data: [1], hashing: bootHashing) }
        XCTAssertEqual(try judge(boot).0.codes, [.unexpectedEvent])
    }

    func testMissingSeparatorAndLogWithoutSHA256() throws {
        var e = TCGEventLogEncoder(banks: [.sha256])
        e.append(pcr: 7, type: .efiVariableDriverConfig,
                 data: TCGEventData.variable(vendor: .globalVariable, name: "SecureBoot", data: [1]), hashing: bootHashing)
        let log = try TCGEventLog.parse(e.bytes)
        let v = BootJudge.judge(log: log, quotedPCRs: try BootLog.quote(e.bytes), reference: Self.reference, hashing: bootHashing)
        XCTAssertEqual(Array(v.codes.prefix(8)), Array(repeating: .missingSeparator, count: 8))
        XCTAssertFalse(v.passed)
        // A sha1-only log cannot be judged: the quote's sha256 bank is not explained.
        var legacy = TCGEventLogEncoder(legacySHA1: ())
        legacy.append(pcr: 7, type: .separator, data: TCGEventData.separator(), hashing: bootHashing)
        let legacyLog = try TCGEventLog.parse(legacy.bytes)
        let v2 = BootJudge.judge(log: legacyLog, quotedPCRs: try BootLog.quote(Self.honest.bytes()), reference: Self.reference, hashing: bootHashing)
        XCTAssertEqual(v2.codes, [.replayMismatch])
    }

    func testSecureBootDatabases() throws {
        func fp(_ b: [UInt8]) -> BootDigest { BootDigest(BootLog.sha256(b))! }
        var reference = Self.reference
        reference.secureBoot.db = SignatureDatabaseRule(allowedEntries: [fp(BootLog.uefiCA), fp(BootLog.windowsCA)])
        reference.secureBoot.dbx = SignatureDatabaseRule(requiredEntries: [BootDigest([UInt8](repeating: 0xaa, count: 32))!])
        reference.secureBoot.authorities = [AuthorityRule(name: "db", sha256: fp(BootLog.uefiCA)),
                                            AuthorityRule(name: "SbatLevel", sha256: fp(Array("sbat,1,2022111500\n".utf8)))]
        XCTAssertEqual(try judge(Self.honest, reference).0.failures, [])
        // db may hold only the UEFI CA: the Windows CA fails.
        var strict = reference
        strict.secureBoot.db = SignatureDatabaseRule(allowedEntries: [fp(BootLog.uefiCA)])
        XCTAssertEqual(try judge(Self.honest, strict).0.codes, [.dbNotAllowed])
        // dbx must revoke a hash it does not.
        strict = reference
        strict.secureBoot.dbx?.requiredEntries.append(BootDigest([UInt8](repeating: 0xcc, count: 32))!)
        let (v, log) = try judge(Self.honest, strict)
        XCTAssertEqual(v.codes, [.dbxOutdated])
        XCTAssertEqual(v.failures[0].eventIndex, try index(log) { if case .variable(let x) = $0.content { return x.name == "dbx" }; return false })
        // An exact dbx pin, and authorities.
        strict = reference
        strict.secureBoot.dbx = SignatureDatabaseRule(exactSHA256: [BootDigest([UInt8](repeating: 1, count: 32))!])
        XCTAssertEqual(try judge(Self.honest, strict).0.codes, [.dbxNotAllowed])
        strict = reference
        strict.secureBoot.authorities = [AuthorityRule(name: "db", sha256: fp(BootLog.windowsCA))]
        XCTAssertEqual(try judge(Self.honest, strict).0.codes, [.authorityNotAllowed, .authorityNotAllowed])
    }

    func testReferenceCodableAndVersioned() throws {
        let data = try JSONEncoder().encode(Self.twoChains)
        XCTAssertEqual(try JSONDecoder().decode(BootReference.self, from: data), Self.twoChains)
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertTrue(text.contains("\"format\":\"signet-boot-reference\""), text)
        XCTAssertTrue(text.contains(Hex.encode(Self.newKernel)), text)
        let bad = text.replacingOccurrences(of: Hex.encode(Self.newKernel), with: "zz")
        XCTAssertThrowsError(try JSONDecoder().decode(BootReference.self, from: Data(bad.utf8)))
        var future = Self.reference
        future.version = 2
        XCTAssertEqual(try judge(Self.honest, future).0.codes, [.invalidReference])
    }

    func testGeneratedChainFromImages() throws {
        let shim = makePE(sections: [Array(repeating: 1, count: 0x200)]), grub = makePE(sections: [Array(repeating: 2, count: 0x200)])
        let kernel = makePE(sections: [Array(repeating: 3, count: 0x200)])
        let initrd = Array("initrd new".utf8), cfg = Array("linux /boot/vmlinuz-6.12\n".utf8)
        let chain = try BootReference.chain(name: "image", shim: shim, grub: grub, kernel: kernel, initrd: initrd, grubConfig: cfg,
                                            hashing: bootHashing)
        XCTAssertEqual(chain.applications.map(\.role), [.shim, .grub, .kernel])
        var boot = BootLog(applications: try [shim, grub, kernel].map { try Authenticode.digest(of: $0, hashing: bootHashing) })
        boot.kernelFile = kernel
        let (v, _) = try judge(boot, .signetDefault(chains: [chain]))
        XCTAssertEqual(v.failures, [])
        XCTAssertEqual(v.matchedChain, "image")
        XCTAssertEqual(CommandLineRules.signetDefault.required, ["bdev_allow_write_mounted": "0", "module.sig_enforce": "1"])
        XCTAssertThrowsError(try BootReference.chain(name: "x", shim: nil, grub: nil, kernel: Array(kernel.prefix(100)), initrd: nil,
                                                     hashing: bootHashing))
    }
}
