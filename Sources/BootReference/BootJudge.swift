import IMAFormat
import TCGEventLog

/// Judges a measured boot: first the event log must explain the quoted
/// PCRs (its replay reaches them), then its content (only what the digests
/// cover) is held against a `BootReference`.
///
/// What counts, per PCR:
/// - 0–7: exactly one EV_SEPARATOR each, 0x00000000; after it only PCR 4
///   applications and actions, PCR 5 GPT and actions, PCR 7 authorities.
/// - 4: EV_EFI_BOOT_SERVICES_APPLICATION, the images actually run (shim,
///   grub, the kernel's EFI stub, whoever measured them), by Authenticode
///   SHA-256; they must be one allowed chain's applications, in order (an image
///   measured again right after itself counts once: Debian's grub has shim verify the kernel twice).
/// - 7: the SecureBoot, PK, KEK, db, dbx variables and the authority events.
/// - 8: grub's `kernel_cmdline:` lines, split the way the kernel splits them.
/// - 9: grub's file events and the EFI stub's initrd/LoadOptions tags, judged by digest.
///
/// Content a digest does not cover is never trusted: every event in PCRs
/// 7 and 8 and every non-application event in PCR 4 must carry the hash of
/// what it shows (else `event-digest-mismatch`); PCR 4 applications and
/// PCR 9 files are judged by their digests alone. Malformed content fails.
public enum BootJudge {
    /// The PCRs the judgement relies on; each must be quoted in the sha256 bank.
    public static let judgedPCRs: ClosedRange<UInt32> = 0...9

    /// The EFI stub's EV_EVENT_TAG ids (drivers/firmware/efi/libstub): the initrd it loaded, the load options.
    public static let initrdTagID: UInt32 = 0x8F3B_22EC
    public static let loadOptionsTagID: UInt32 = 0x8F3B_22ED

    /// Types allowed after the separator of PCR 0–7.
    static let afterSeparator: [UInt32: Set<TCGEventType>] = [
        4: [.efiBootServicesApplication, .efiAction],
        5: [.efiGPTEvent, .efiGPTEvent2, .efiAction],
        7: [.efiVariableAuthority],
    ]

    /// Judges `log` against `reference`. `quotedPCRs` are the values a
    /// verified quote attests (`[pcr: [bank: digest]]`); PCRs 0–9 must be
    /// there in the sha256 bank. `hashing` supplies SHA-256 (and the banks replayed).
    public static func judge(log: TCGEventLog, quotedPCRs: [UInt32: [TCGAlgorithm: [UInt8]]], reference: BootReference,
                             hashing: any TCGEventLogHashing) -> BootVerdict {
        var j = Judgement(log: log, reference: reference, hashing: hashing)
        j.run(quoted: quotedPCRs)
        return BootVerdict(failures: j.failures, matchedChain: j.failures.isEmpty ? j.matchedChain : nil,
                           secureBoot: j.secureBoot, commandLines: j.commandLines.map(\.text), applications: j.applications.map(\.digest))
    }
}

/// One PCR 9 event, by what its label says.
struct BootFile {
    enum Kind: String { case initrd, grubConfig = "grub.cfg", kernelFile = "kernel file", loadOptions = "load options", other }
    var event: TCGEvent
    var kind: Kind
    var label: String
    var digest: BootDigest
}

struct Judgement {
    let log: TCGEventLog
    let reference: BootReference
    let hashing: any TCGEventLogHashing
    var failures = [BootFailure]()
    var matchedChain: String?
    var secureBoot: Bool?
    var secureBootEvent: TCGEvent?
    var commandLines = [(event: TCGEvent, text: String)]()
    var applications = [(event: TCGEvent, digest: BootDigest)]()
    var files = [BootFile]()
    var databases = [String: [(event: TCGEvent, lists: [EFISignatureList])]]()
    var authorities = [(event: TCGEvent, name: String, fingerprint: BootDigest)]()

    init(log: TCGEventLog, reference: BootReference, hashing: any TCGEventLogHashing) {
        self.log = log
        self.reference = reference
        self.hashing = hashing
    }

    func sha256(_ parts: [[UInt8]]) -> [UInt8] { hashing.hash(.sha256, parts) ?? [] }
    func fingerprint(_ bytes: [UInt8]) -> BootDigest? { BootDigest(sha256([bytes])) }

    mutating func fail(_ code: BootFailureCode, _ event: TCGEvent, measured: String? = nil, expected: String? = nil, _ reason: String) {
        failures.append(BootFailure(code, event: event, measured: measured, expected: expected, reason: reason))
    }

    mutating func run(quoted: [UInt32: [TCGAlgorithm: [UInt8]]]) {
        guard reference.format == BootReference.formatName, reference.version == BootReference.currentVersion else {
            failures.append(BootFailure(code: .invalidReference, measured: "\(reference.format) version \(reference.version)",
                                        expected: "\(BootReference.formatName) version \(BootReference.currentVersion)",
                                        reason: "not a boot reference this verifier reads"))
            return
        }
        guard checkReplay(quoted) else { return }
        readEvents()
        judgeSecureBoot()
        judgeChains()
        judgeCommandLines()
    }

    // MARK: Replay

    mutating func checkReplay(_ quoted: [UInt32: [TCGAlgorithm: [UInt8]]]) -> Bool {
        var values = TCGPCRValues()
        for (pcr, banks) in quoted { for (bank, value) in banks { values[bank, default: [:]][pcr] = value } }
        for pcr in BootJudge.judgedPCRs where values[.sha256]?[pcr] == nil {
            failures.append(BootFailure(code: .pcrNotQuoted, pcr: pcr, expected: "PCR \(pcr) in the sha256 bank",
                                        reason: "the quote does not cover PCR \(pcr): its events would be unbound"))
            return false
        }
        let replay = TCGPCRReplay(log, hashing: hashing)
        if let m = replay.firstMismatch(against: values) {
            failures.append(BootFailure(code: .replayMismatch, pcr: m.pcr,
                                        measured: m.replayed.map { "\(m.bank?.name ?? ""):\(Hex.encode($0))" },
                                        expected: m.expected.map { "\(m.bank?.name ?? ""):\(Hex.encode($0))" },
                                        reason: "the event log does not explain the quoted PCRs: \(m.description)"))
            return false
        }
        return true
    }

    // MARK: Events

    mutating func readEvents() {
        var separated = Set<UInt32>()
        for event in log.events where event.extendsPCR && BootJudge.judgedPCRs.contains(event.pcrIndex) {
            let pcr = event.pcrIndex
            guard let digest = event.digest(.sha256).flatMap(BootDigest.init) else {
                fail(.malformedEvent, event, expected: "a sha256 digest", "the event has no sha256 digest")
                continue
            }
            if let error = event.contentError {
                fail(.malformedEvent, event, measured: "\(event.data.count) byte(s) of data", expected: "a well-formed \(event.eventType)",
                     error.description)
                continue
            }
            if pcr <= 7, separated.contains(pcr), event.eventType != .separator,
               !(BootJudge.afterSeparator[pcr]?.contains(event.eventType) ?? false) {
                fail(.eventAfterSeparator, event, measured: event.eventType.description,
                     expected: (BootJudge.afterSeparator[pcr].map { $0.map(\.description).sorted().joined(separator: ", ") } ?? "nothing") + " after PCR \(pcr)'s separator",
                     "an event after the separator of PCR \(pcr)")
            }
            if event.eventType == .separator {
                guard checkDataDigest(event, digest) else { continue }
                if pcr <= 7 {
                    if separated.contains(pcr) {
                        fail(.separatorError, event, measured: "a second EV_SEPARATOR", expected: "one per PCR", "PCR \(pcr) is separated twice")
                    } else if event.content != .separator(.normal) {
                        fail(.separatorError, event, measured: Hex.encode(event.data), expected: "00000000",
                             "the firmware logged an error separator")
                    }
                    separated.insert(pcr)
                }
                continue
            }
            switch pcr {
            case 4: readPCR4(event, digest)
            case 7: readPCR7(event, digest)
            case 8: readPCR8(event, digest)
            case 9: readPCR9(event, digest)
            default: break
            }
        }
        for pcr: UInt32 in 0...7 where !separated.contains(pcr) {
            failures.append(BootFailure(code: .missingSeparator, pcr: pcr, eventType: "EV_SEPARATOR", expected: "an EV_SEPARATOR in PCR \(pcr)",
                                        reason: "PCR \(pcr) has no separator: the pre-OS phase never ended"))
        }
    }

    /// The digest must be the hash of the data; fails and returns false otherwise.
    mutating func checkDataDigest(_ event: TCGEvent, _ digest: BootDigest, alternatives: [[UInt8]] = []) -> Bool {
        let candidates = [event.data] + alternatives
        if candidates.contains(where: { sha256([$0]) == digest.bytes }) { return true }
        fail(.eventDigestMismatch, event, measured: digest.description, expected: "sha256:" + Hex.encode(sha256([event.data])) + " (the hash of the event data)",
             "the digest extended is not the hash of the content the event shows")
        return false
    }

    mutating func readPCR4(_ event: TCGEvent, _ digest: BootDigest) {
        switch event.eventType {
        case .efiBootServicesApplication:
            applications.append((event, digest))
        case .efiAction:
            _ = checkDataDigest(event, digest)
        default:
            fail(.unexpectedEvent, event, measured: event.eventType.description,
                 expected: "EV_EFI_BOOT_SERVICES_APPLICATION, EV_EFI_ACTION or EV_SEPARATOR", "PCR 4 records only boot applications")
        }
    }

    mutating func readPCR7(_ event: TCGEvent, _ digest: BootDigest) {
        switch event.eventType {
        case .efiVariableDriverConfig, .efiVariableAuthority, .efiAction:
            guard checkDataDigest(event, digest) else { return }
        default:
            fail(.unexpectedEvent, event, measured: event.eventType.description,
                 expected: "EV_EFI_VARIABLE_DRIVER_CONFIG, EV_EFI_VARIABLE_AUTHORITY, EV_EFI_ACTION or EV_SEPARATOR",
                 "PCR 7 records the Secure Boot policy only")
            return
        }
        guard case .variable(let v) = event.content else { return }
        if event.eventType == .efiVariableAuthority {
            let bytes: [UInt8]
            if case .signature(let s) = v.value { bytes = s.data } else { bytes = v.data }
            if let f = fingerprint(bytes) { authorities.append((event, v.name, f)) }
            return
        }
        if v.name == "SecureBoot", v.vendor == .globalVariable {
            if case .boolean(let on) = v.value {
                if secureBootEvent == nil || on != true { secureBoot = on; secureBootEvent = event }
            }
        } else if (v.vendor == .globalVariable && (v.name == "PK" || v.name == "KEK"))
                    || (v.vendor == .imageSecurityDatabase && (v.name == "db" || v.name == "dbx")) {
            if case .signatureLists(let lists) = v.value { databases[v.name, default: []].append((event, lists)) }
        }
    }

    mutating func readPCR8(_ event: TCGEvent, _ digest: BootDigest) {
        guard event.eventType == .ipl, case .ipl(let ipl) = event.content else {
            fail(.unexpectedEvent, event, measured: event.eventType.description, expected: "EV_IPL",
                 "PCR 8 records grub's commands and command lines only")
            return
        }
        var alternatives = [[UInt8]]()
        if event.data.last == 0 { alternatives.append(Array(event.data.dropLast())) }
        if let text = ipl.text {
            // grub hashes the string after its prefix ("kernel_cmdline: ", "grub_cmd: ", "module_cmdline: ").
            for prefix in ["kernel_cmdline: ", "grub_cmd: ", "module_cmdline: "] where text.hasPrefix(prefix) {
                alternatives.append(Array(text.utf8.dropFirst(prefix.utf8.count)))
            }
            alternatives.append(Array(text.utf8))
        }
        guard checkDataDigest(event, digest, alternatives: alternatives) else { return }
        if case .kernelCommandLine(let line) = ipl.kind { commandLines.append((event, line)) }
    }

    mutating func readPCR9(_ event: TCGEvent, _ digest: BootDigest) {
        switch event.content {
        case .ipl(let ipl):
            let path = ipl.text ?? "<binary>"
            let last = path.split(separator: "/").last.map(String.init) ?? path
            let kind: BootFile.Kind
            if last.contains("initrd") || last.contains("initramfs") { kind = .initrd }
            else if last == "grub.cfg" { kind = .grubConfig }
            else if last.hasPrefix("vmlinuz") || last.hasPrefix("vmlinux") || last.hasPrefix("bzImage") { kind = .kernelFile }
            else { kind = .other }
            files.append(BootFile(event: event, kind: kind, label: path, digest: digest))
        case .eventTags(let tags) where tags.count == 1 && tags[0].id == BootJudge.initrdTagID:
            files.append(BootFile(event: event, kind: .initrd, label: "EFI stub initrd", digest: digest))
        case .eventTags(let tags) where tags.count == 1 && tags[0].id == BootJudge.loadOptionsTagID:
            files.append(BootFile(event: event, kind: .loadOptions, label: "EFI stub LoadOptions", digest: digest))
        default:
            files.append(BootFile(event: event, kind: .other, label: event.eventType.description, digest: digest))
        }
    }

    // MARK: Secure Boot

    mutating func judgeSecureBoot() {
        let rules = reference.secureBoot
        if rules.required {
            if let event = secureBootEvent {
                if secureBoot != true {
                    fail(.secureBootOff, event, measured: "SecureBoot=\(secureBoot.map { $0 ? "1" : "0" } ?? "absent")",
                         expected: "SecureBoot=1", "Secure Boot is off: firmware ran unsigned images")
                }
            } else {
                failures.append(BootFailure(code: .secureBootOff, pcr: 7, eventType: "EV_EFI_VARIABLE_DRIVER_CONFIG",
                                            measured: "no SecureBoot variable event", expected: "SecureBoot=1",
                                            reason: "the log does not measure the SecureBoot variable"))
            }
        }
        let checks: [(String, SignatureDatabaseRule?, BootFailureCode)] = [
            ("PK", rules.pk, .pkNotAllowed), ("KEK", rules.kek, .kekNotAllowed), ("db", rules.db, .dbNotAllowed), ("dbx", rules.dbx, .dbxNotAllowed),
        ]
        for (name, rule, code) in checks {
            guard let rule else { continue }
            guard let measured = databases[name], !measured.isEmpty else {
                failures.append(BootFailure(code: .variableNotMeasured, pcr: 7, eventType: "EV_EFI_VARIABLE_DRIVER_CONFIG",
                                            expected: "a \(name) variable event", reason: "the reference has rules on \(name) but the log does not measure it"))
                continue
            }
            for (event, lists) in measured { judgeDatabase(name, event, lists, rule, code) }
        }
        if let allowed = reference.secureBoot.authorities {
            for a in authorities where !allowed.contains(where: { $0.name == a.name && $0.sha256 == a.fingerprint }) {
                fail(.authorityNotAllowed, a.event, measured: "\(a.name) \(a.fingerprint)",
                     expected: allowed.isEmpty ? "no authority" : allowed.map { "\($0.name) \($0.sha256)" }.joined(separator: " or "),
                     "an authority the reference does not list allowed a boot image")
            }
        }
    }

    mutating func judgeDatabase(_ name: String, _ event: TCGEvent, _ lists: [EFISignatureList], _ rule: SignatureDatabaseRule,
                                _ code: BootFailureCode) {
        guard case .variable(let v) = event.content, let whole = fingerprint(v.data) else { return }
        if let exact = rule.exactSHA256, !exact.contains(whole) {
            fail(code, event, measured: "\(name) data \(whole)", expected: exact.map(\.description).joined(separator: " or "),
                 "\(name) is not an allowed one")
        }
        var entries = [BootDigest]()
        for list in lists {
            for s in list.signatures {
                if list.isSHA256, let d = BootDigest(s.data) { entries.append(d) } else if let d = fingerprint(s.data) { entries.append(d) }
            }
        }
        if let allowed = rule.allowedEntries {
            let set = Set(allowed)
            for e in entries where !set.contains(e) {
                fail(code, event, measured: "\(name) entry \(e)", expected: "one of \(allowed.count) allowed entr(ies)",
                     "\(name) holds an entry the reference does not allow")
            }
        }
        let present = Set(entries)
        let missing = rule.requiredEntries.filter { !present.contains($0) }
        if !missing.isEmpty {
            fail(name == "dbx" ? .dbxOutdated : code, event, measured: "\(entries.count) entr(ies)",
                 expected: "\(missing.count) more: " + missing.prefix(3).map(\.description).joined(separator: ", ") + (missing.count > 3 ? ", …" : ""),
                 "\(name) lacks \(missing.count) required entr(ies)")
        }
    }

    // MARK: Chains

    /// The PCR 4 applications as images run: one measured again right after itself is one image.
    /// Debian's grub asks shim to verify the kernel twice (its shim_lock verifier when it reads the
    /// file, then linuxefi before it starts it) and shim measures it each time.
    var imagesRun: [(event: TCGEvent, digest: BootDigest)] {
        applications.enumerated().filter { i, a in i == 0 || applications[i - 1].digest != a.digest }.map(\.element)
    }

    mutating func judgeChains() {
        let chains = reference.chains
        let applications = imagesRun
        let measured = applications.map(\.digest)
        let exact = chains.filter { $0.applications.map(\.sha256) == measured }
        if !exact.isEmpty {
            var best: (chain: BootChain, failures: [BootFailure])?
            for chain in exact {
                let f = fileFailures(chain)
                if best == nil || f.count < best!.failures.count { best = (chain, f) }
                if f.isEmpty { break }
            }
            failures += best!.failures
            matchedChain = best!.chain.name
            return
        }
        guard let best = chains.max(by: { score($0) < score($1) }) else {
            for a in applications {
                fail(.unknownBootApplication, a.event, measured: a.digest.description, expected: "no chain: the reference allows none",
                     "the reference allows no boot chain")
            }
            if applications.isEmpty {
                failures.append(BootFailure(code: .missingBootApplication, pcr: 4, reason: "the reference allows no boot chain"))
            }
            return
        }
        for (i, a) in applications.enumerated() {
            guard i < best.applications.count else {
                fail(.unknownBootApplication, a.event, measured: a.digest.description, expected: "no application after \(best.applications.count) (chain \(best.name))",
                     "an application no allowed chain runs at this place")
                continue
            }
            let want = best.applications[i]
            guard want.sha256 != a.digest else { continue }
            let allowedHere = Set(chains.compactMap { i < $0.applications.count ? $0.applications[i].sha256 : nil })
            let expected = "\(want.name) \(want.sha256) (chain \(best.name))" + (allowedHere.count > 1 ? "; allowed here: " + allowedHere.sorted().map(\.description).joined(separator: ", ") : "")
            if want.role == .kernel {
                fail(.kernelNotAllowed, a.event, measured: a.digest.description, expected: expected, "a kernel no allowed chain lists")
            } else {
                fail(.unknownBootApplication, a.event, measured: a.digest.description, expected: expected,
                     "an application no allowed chain runs at this place")
            }
        }
        if applications.count < best.applications.count {
            for want in best.applications[applications.count...] {
                failures.append(BootFailure(code: want.role == .kernel ? .kernelNotAllowed : .missingBootApplication, pcr: 4,
                                            eventType: "EV_EFI_BOOT_SERVICES_APPLICATION", measured: "no such event",
                                            expected: "\(want.name) \(want.sha256) (chain \(best.name))",
                                            reason: "the log does not show an application the chain runs"))
            }
        }
        failures += fileFailures(best)
    }

    /// Positions where the chain's applications equal the measured ones (ties: the first chain).
    func score(_ chain: BootChain) -> Int {
        let applications = imagesRun
        return zip(chain.applications, applications).filter { $0.0.sha256 == $0.1.digest }.count * 2
            - abs(chain.applications.count - applications.count)
    }

    func fileFailures(_ chain: BootChain) -> [BootFailure] {
        var out = [BootFailure]()
        func add(_ code: BootFailureCode, _ f: BootFile, _ expected: [BootDigest], _ reason: String) {
            out.append(BootFailure(code, event: f.event, measured: "\(f.label) \(f.digest)",
                                   expected: expected.isEmpty ? "none" : expected.map(\.description).joined(separator: " or ") + " (chain \(chain.name))",
                                   reason: reason))
        }
        let listed = Set((chain.initrds ?? []) + (chain.grubConfigs ?? []) + (chain.kernelFiles ?? []) + (chain.loadOptions ?? []) + chain.otherFiles)
        var initrdSeen = false
        for f in files {
            let rule: [BootDigest]?
            let code: BootFailureCode
            switch f.kind {
            case .initrd: rule = chain.initrds; code = .initrdNotAllowed; initrdSeen = true
            case .grubConfig: rule = chain.grubConfigs; code = .grubConfigNotAllowed
            case .kernelFile: rule = chain.kernelFiles; code = .kernelNotAllowed
            case .loadOptions: rule = chain.loadOptions; code = .unknownBootFile
            case .other: rule = nil; code = .unknownBootFile
            }
            if let rule {
                if !rule.contains(f.digest) { add(code, f, rule, "a \(f.kind.rawValue) the chain does not allow") }
            } else if f.kind == .other, !reference.allowsUnlistedFiles, !listed.contains(f.digest) {
                add(.unknownBootFile, f, chain.otherFiles, "grub read a file the chain does not list")
            }
        }
        if let initrds = chain.initrds, !initrds.isEmpty, !initrdSeen {
            out.append(BootFailure(code: .initrdNotAllowed, pcr: 9, measured: "no initrd measured",
                                   expected: initrds.map(\.description).joined(separator: " or ") + " (chain \(chain.name))",
                                   reason: "the chain requires an initrd and the log measures none"))
        }
        return out
    }

    // MARK: Command line

    mutating func judgeCommandLines() {
        let rules = reference.commandLine
        if commandLines.isEmpty {
            if rules.mustBeMeasured && !rules.isEmpty {
                failures.append(BootFailure(code: .commandLineNotMeasured, pcr: 8, eventType: "EV_IPL",
                                            measured: "no kernel_cmdline event", expected: "grub's kernel_cmdline: line",
                                            reason: "the kernel command line was not measured, so its rules cannot be checked"))
            }
            return
        }
        for (event, text) in commandLines {
            let line = KernelCommandLine(text, leadingImagePath: true)
            for v in rules.violations(line) {
                fail(v.missing ? .commandLineMissingParameter : .commandLineForbiddenParameter, event,
                     measured: v.found ?? "no \(v.parameter)", expected: v.expected,
                     v.missing ? "the kernel command line lacks \(v.parameter)" : "the kernel command line has \(v.found ?? v.parameter)")
            }
        }
    }
}
