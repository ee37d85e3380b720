import ArgumentParser
// FoundationEssentials only (JSONEncoder/JSONDecoder): full Foundation would pull ICU into the static binary (+40 MB).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import BootReference
import IMAFormat
import Policy
import SignetCLI
import SignetCrypto
import TCGEventLog

/// `signet boot-reference`: what a correct measured boot of an image must show
/// (a `BootReference`), and the judgement of a firmware event log against one.
struct BootReferenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boot-reference",
        abstract: "Measured boot: write a boot reference from an image, check an event log against it.",
        discussion: """
            A boot reference lists the boot chains allowed (shim, grub and the kernel by \
            Authenticode SHA-256, as PCR 4 records them; the initrd and the kernel file as \
            PCR 9 records them), Signet's kernel command-line rules (PCR 8) and the Secure \
            Boot rules (PCR 7). 'check' judges a TCG event log (binary_bios_measurements) \
            and the PCR values it must explain against it, offline. The verifier judges the \
            boot first when given the reference: 'signet attest verify --boot-reference', \
            or in the verifier service as part of a group's reference.

            Examples:
              signet boot-reference create rootfs/ -o boot-reference.json
              signet boot-reference check boot-reference.json --event-log binary_bios_measurements --pcrs pcrs.txt
              signet boot-reference show boot-reference.json
            """,
        subcommands: [Create.self, Check.self, Show.self])
}

/// The hashing every subcommand uses: OpenSSL's SHA-1/256/384/512.
private let bootHashing = TCGHashing(IMALogHashing())

extension BootReferenceCommand {
    struct Create: ParsableCommand {
        static let defaultShim = "usr/lib/shim/shimx64.efi.signed"
        static let defaultGrub = "usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed"

        static let configuration = CommandConfiguration(
            abstract: "Write the boot reference of an image tree: one chain per kernel, Signet's command-line rules.",
            discussion: """
                Reads, inside ROOTFS (symlinks resolved inside the tree): shim \
                (\(defaultShim), package shim-signed), grub \
                (\(defaultGrub), package grub-efi-amd64-signed) \
                and every boot/vmlinuz-VERSION with its boot/initrd.img-VERSION (or only the \
                versions given with --kernel-version). Each kernel gives one chain: shim, grub \
                and the kernel by Authenticode SHA-256 (what PCR 4 records), the initrd and the \
                kernel file by SHA-256 (what grub records in PCR 9). A kernel without an initrd \
                gives a chain that allows none. grub.cfg is not judged: the node writes it.

                The reference requires Secure Boot and Signet's command-line rules (those \
                'signet image prepare' writes: bdev_allow_write_mounted=0, module.sig_enforce=1; \
                no init=, no ima_appraise=log|fix|off, ...). Secure Boot boots go through shim \
                and grub; --direct-kernel is for firmware that starts the kernel's EFI stub \
                itself (the chain is then the kernel alone, and with no grub the command line \
                is not measured in PCR 8: 'check' then reports cmdline-not-measured).

                Writes OUTPUT atomically, mode 0644. --json prints {"output": ..., "reference": ...}.

                Examples:
                  signet boot-reference create rootfs/ -o boot-reference.json
                  signet boot-reference create rootfs/ --kernel-version 6.12.118+deb12-amd64 --name debian12 -o ref.json
                  signet boot-reference create rootfs/ --direct-kernel -o ref.json --json
                """)

        @Argument(help: ArgumentHelp("The image's root filesystem tree.", valueName: "rootfs")) var rootfs: String
        @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Where to write the reference (JSON).", valueName: "file"))
        var output: String
        @Option(name: .customLong("kernel-version"), help: ArgumentHelp("Only this kernel (boot/vmlinuz-VERSION; repeatable). Default: every boot/vmlinuz-* in the tree.", valueName: "version"))
        var kernelVersions: [String] = []
        @Option(help: ArgumentHelp("shim inside ROOTFS (default: \(defaultShim)).", valueName: "path")) var shim: String?
        @Option(help: ArgumentHelp("grub inside ROOTFS (default: \(defaultGrub)).", valueName: "path")) var grub: String?
        @Flag(name: [.customLong("direct-kernel"), .customLong("no-shim")],
              help: "No shim and no grub: the firmware starts the kernel's EFI stub (the chain is the kernel alone).")
        var directKernel = false
        @Option(help: ArgumentHelp("Prefix of the chain names (NAME-VERSION; default: the kernel version alone).", valueName: "name"))
        var name: String?
        @Flag(help: "Accept PCR 9 files (read by grub) that the chain does not list. Default: refused.")
        var allowUnlistedFiles = false
        @Flag(help: "Print the reference as JSON.") var json = false

        func run() throws {
            try reportingErrors {
                let reference = try build()
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                let bytes = Array(try encoder.encode(reference)) + [0x0a]
                try FileBytes.writeAtomically(bytes, to: output, mode: 0o644)
                if json {
                    let compact = JSONEncoder()
                    compact.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                    Console.out(String(decoding: try compact.encode(CreateReport(output: output, reference: reference)), as: UTF8.self))
                } else {
                    Console.out("wrote \(output): \(reference.chains.count) chain(s), Secure Boot required, Signet's default command-line rules")
                    for line in describe(reference.chains) { Console.out(line) }
                }
            }
        }

        struct CreateReport: Encodable {
            var output: String
            var reference: BootReference
        }

        func build() throws -> BootReference {
            var st = stat()
            guard stat(rootfs, &st) == 0 else { throw UsageError("\(rootfs): cannot read the image tree: \(errnoDescription(errno))") }
            guard st.st_mode & S_IFMT == S_IFDIR else { throw UsageError("\(rootfs): not a directory (give the image's root filesystem tree)") }
            let root = ImageRoot(rootfs)
            if directKernel && (shim != nil || grub != nil) {
                throw UsageError("--direct-kernel boots without shim and grub: drop --shim/--grub")
            }
            var shimBytes: [UInt8]?, grubBytes: [UInt8]?
            var shimName = "shimx64.efi", grubName = "grubx64.efi"
            if !directKernel {
                let shimPath = shim ?? Self.defaultShim, grubPath = grub ?? Self.defaultGrub
                shimBytes = try requiredImageFile(root, shimPath, what: "shim", package: "shim-signed")
                grubBytes = try requiredImageFile(root, grubPath, what: "grub", package: "grub-efi-amd64-signed")
                shimName = baseName(shimPath)
                grubName = baseName(grubPath)
            }
            let versions = try kernels(root)
            var chains = [BootChain]()
            for version in versions {
                let kernelPath = "boot/vmlinuz-\(version)", initrdPath = "boot/initrd.img-\(version)"
                guard let kernel = try imageFile(root, kernelPath, limit: 256 << 20) else {
                    throw UsageError("\(root.host(kernelPath)): no such kernel in the image (versions found: "
                                     + (foundVersions(root).joined(separator: ", ").nonEmpty ?? "none") + ")")
                }
                let initrd = try imageFile(root, initrdPath, limit: 1 << 30)
                if initrd == nil {
                    Console.warning("\(root.host(initrdPath)): no initrd: chain \(chainName(version)) allows the boot to load none")
                }
                do {
                    chains.append(try BootReference.chain(name: chainName(version), shim: shimBytes, grub: grubBytes, kernel: kernel,
                                                          initrd: initrd, names: (shimName, grubName, "vmlinuz-\(version)"),
                                                          hashing: bootHashing))
                } catch {
                    // Name the image the Authenticode error is about.
                    let culprit = [(shimBytes, shim ?? Self.defaultShim), (grubBytes, grub ?? Self.defaultGrub), (Optional(kernel), kernelPath)]
                        .first { bytes, _ in bytes.map { (try? Authenticode.layout(of: $0)) == nil } ?? false }?.1 ?? kernelPath
                    throw UsageError("\(root.host(culprit)): not a valid PE/COFF (EFI) image: \(error)")
                }
            }
            var reference = BootReference.signetDefault(chains: chains)
            reference.allowsUnlistedFiles = allowUnlistedFiles
            return reference
        }

        func chainName(_ version: String) -> String { name.map { "\($0)-\(version)" } ?? version }

        /// The kernel versions asked for, or every boot/vmlinuz-* in the tree.
        func kernels(_ root: ImageRoot) throws -> [String] {
            if !kernelVersions.isEmpty {
                var seen = Set<String>(), out = [String]()
                for v in kernelVersions where seen.insert(v).inserted {
                    guard !v.isEmpty, !v.contains("/") else { throw UsageError("--kernel-version '\(v)' is not a kernel version (like 6.12.118+deb12-amd64)") }
                    out.append(v)
                }
                return out
            }
            let found = foundVersions(root)
            guard !found.isEmpty else {
                throw UsageError("\(root.host("boot")): no vmlinuz-VERSION kernel in the image (install a linux-image package)")
            }
            return found
        }

        func foundVersions(_ root: ImageRoot) -> [String] {
            root.list("boot").filter { $0.hasPrefix("vmlinuz-") && $0.count > 8 }.filter { name in
                root.resolve("boot/\(name)").map { root.isRegularFile($0) } ?? false
            }.map { String($0.dropFirst(8)) }
        }

        /// A regular file inside the image (symlinks resolved inside it); nil when absent.
        func imageFile(_ root: ImageRoot, _ relative: String, limit: Int) throws -> [UInt8]? {
            guard let resolved = root.resolve(relative), root.isRegularFile(resolved) else { return nil }
            return try FileBytes.read(root.host(resolved), limit: limit)
        }

        func requiredImageFile(_ root: ImageRoot, _ relative: String, what: String, package: String) throws -> [UInt8] {
            guard let bytes = try imageFile(root, relative, limit: 64 << 20) else {
                throw UsageError("\(root.host(relative)): no \(what) in the image: install \(package) in it (or give --\(what) PATH, "
                                 + "or --direct-kernel for a boot without shim and grub)")
            }
            return bytes
        }

        func baseName(_ path: String) -> String { path.split(separator: "/").last.map(String.init) ?? path }
    }
}

extension BootReferenceCommand {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Judge a firmware event log and the PCR values it must explain against a boot reference.",
            discussion: """
                First the log's replay must reach the given values of PCRs 0-9 in every bank the \
                file gives (the rest is the OS's: PCR 10 is IMA's), then the events the digests \
                cover are held against the reference: Secure Boot (PCR 7), the boot applications \
                (PCR 4), the files grub and the EFI stub measured (PCR 9) and the kernel command \
                line (PCR 8). Every failure is printed with its code, the event (index and byte \
                offset), the PCR and event type, what was measured and what was expected.

                --pcrs reads either lines '<bank> <pcr> <hex>' (sha256 7 65CAF8...; what \
                /sys/class/tpm/tpm0/pcr-<bank>/<n> gives) or the YAML tpm2_pcrread prints \
                ('sha256:' then '  7 : 0x65CAF8...'). The values are taken as given: this does \
                not verify a quote (the verifier does that).

                Exit code: 0 pass, 1 fail, 2 bad input (a reference, event log or PCR file that \
                cannot be read; the error names the file and the field, line or byte offset).
                --json prints one object: "passed", "matched_chain", "secure_boot", \
                "applications", "command_lines", "failures" (each with "code", "event_index", \
                "offset", "pcr", "event_type", "measured", "expected", "reason" when known) and "exit_code".

                Examples:
                  signet boot-reference check ref.json --event-log /sys/kernel/security/tpm0/binary_bios_measurements --pcrs pcrs.txt
                  tpm2_pcrread sha256:0,1,2,3,4,5,6,7,8,9 > pcrs.yaml
                  signet boot-reference check ref.json --event-log log.bin --pcrs pcrs.yaml --json
                """)

        @Argument(help: ArgumentHelp("The boot reference (from 'boot-reference create').", valueName: "reference")) var reference: String
        @Option(help: ArgumentHelp("The TCG event log (binary_bios_measurements).", valueName: "file")) var eventLog: String
        @Option(help: ArgumentHelp("The PCR values the log must explain ('<bank> <pcr> <hex>' lines or tpm2_pcrread YAML).", valueName: "file"))
        var pcrs: String
        @Flag(help: "Print the verdict as JSON.") var json = false

        func run() throws {
            let (ref, log, quoted) = try reportingErrors {
                let ref = try loadBootReference(reference)
                let bytes = try FileBytes.read(eventLog, limit: TCGEventLogOptions.defaultMaxLogLength)
                let log: TCGEventLog
                do { log = try TCGEventLog.parse(bytes) } catch { throw UsageError("\(eventLog): not a TCG event log: \(error)") }
                let values = try PCRValuesFile.parse(try FileBytes.read(pcrs, limit: 1 << 20), path: pcrs)
                return (ref, log, values.filter { BootJudge.judgedPCRs.contains($0.key) })
            }
            let verdict = BootJudge.judge(log: log, quotedPCRs: quoted, reference: ref, hashing: bootHashing)
            let exitCode: Int32 = verdict.passed ? 0 : 1
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                let data = try reportingErrors { try encoder.encode(CheckReport(verdict, exitCode: exitCode)) }
                Console.out(String(decoding: data, as: UTF8.self))
            } else if verdict.passed {
                Console.out("PASS: \(eventLog) matches chain \(verdict.matchedChain ?? "?") of \(reference) "
                            + "(Secure Boot \(verdict.secureBoot == true ? "on" : "off"), \(verdict.applications.count) boot application(s))")
            } else {
                Console.out("FAIL: \(eventLog) against \(reference): \(verdict.failures.count) failure(s)")
                for f in verdict.failures {
                    Console.out("  \(f.code.rawValue): " + (f.location.isEmpty ? "" : f.location + ": ") + f.reason)
                    if let m = f.measured { Console.out("      measured: \(m)") }
                    if let e = f.expected { Console.out("      expected: \(e)") }
                }
            }
            if exitCode != 0 { throw Exit.someFailed }
        }

        struct CheckReport: Encodable {
            var passed: Bool
            var matchedChain: String?
            var secureBoot: Bool?
            var applications: [String]
            var commandLines: [String]
            var failures: [BootFailure]
            var exitCode: Int32
            enum CodingKeys: String, CodingKey {
                case passed, applications, failures
                case matchedChain = "matched_chain", secureBoot = "secure_boot", commandLines = "command_lines", exitCode = "exit_code"
            }

            init(_ v: BootVerdict, exitCode: Int32) {
                passed = v.passed
                matchedChain = v.matchedChain
                secureBoot = v.secureBoot
                applications = v.applications.map(\.description)
                commandLines = v.commandLines
                failures = v.failures
                self.exitCode = exitCode
            }
        }
    }
}

extension BootReferenceCommand {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Summarize a boot reference: kernel versions, chains and digests, command-line and Secure Boot rules.",
            discussion: "Example: signet boot-reference show boot-reference.json")

        @Argument(help: ArgumentHelp("The boot reference.", valueName: "reference")) var reference: String

        func run() throws {
            let ref = try reportingErrors { try loadBootReference(reference) }
            let kernels = ref.chains.compactMap(\.kernel?.name).map { $0.hasPrefix("vmlinuz-") ? String($0.dropFirst(8)) : $0 }
            Console.out("\(reference): \(BootReference.formatName) version \(ref.version), \(ref.chains.count) chain(s)")
            Console.out("kernels: " + (kernels.joined(separator: ", ").nonEmpty ?? "none"))
            for line in describe(ref.chains) { Console.out(line) }
            let c = ref.commandLine
            Console.out("command line (PCR 8): " + (c.mustBeMeasured ? "must be measured" : "need not be measured"))
            func pairs(_ d: [String: String]) -> String { d.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }
            func lists(_ d: [String: [String]], _ sep: String) -> String {
                d.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.joined(separator: sep))" }.joined(separator: " ")
            }
            Console.out("  required:          " + (pairs(c.required).nonEmpty ?? "none"))
            Console.out("  forbidden:         " + (c.forbidden.sorted().map { "\($0)=" }.joined(separator: " ").nonEmpty ?? "none"))
            Console.out("  forbidden values:  " + (lists(c.forbiddenValues, "|").nonEmpty ?? "none"))
            Console.out("  allowed values:    " + (lists(c.allowedValues, "|").nonEmpty ?? "any"))
            Console.out("  lists must keep:   " + (lists(c.listMustContain, ",").nonEmpty ?? "none"))
            let s = ref.secureBoot
            Console.out("secure boot (PCR 7): " + (s.required ? "required" : "not required"))
            for (label, rule) in [("PK", s.pk), ("KEK", s.kek), ("db", s.db), ("dbx", s.dbx)] {
                guard let rule else { Console.out("  \(label): not judged"); continue }
                var parts = [String]()
                if let exact = rule.exactSHA256 { parts.append("data one of \(exact.count)") }
                if let allowed = rule.allowedEntries { parts.append("entries among \(allowed.count) allowed") }
                if !rule.requiredEntries.isEmpty { parts.append("\(rule.requiredEntries.count) required entr(ies)") }
                Console.out("  \(label): " + (parts.joined(separator: ", ").nonEmpty ?? "judged, no constraint"))
            }
            Console.out("  authorities: " + (s.authorities.map { a in "\(a.count) allowed" + a.map { "\n    \($0.name) \($0.sha256)" }.joined() } ?? "not judged"))
            Console.out("unlisted PCR 9 files: " + (ref.allowsUnlistedFiles ? "accepted" : "refused"))
        }
    }
}

/// Lines describing `chains`, for `create` and `show`.
private func describe(_ chains: [BootChain]) -> [String] {
    func digests(_ d: [BootDigest]?) -> String {
        guard let d else { return "not judged" }
        return d.isEmpty ? "none allowed" : d.map(\.description).joined(separator: " or ")
    }
    var out = [String]()
    for chain in chains {
        out.append("  chain \(chain.name):")
        for (i, a) in chain.applications.enumerated() {
            out.append("    PCR 4 #\(i + 1) \(a.role.rawValue) \(a.name): \(a.sha256) (Authenticode)")
        }
        out.append("    PCR 9 initrd: \(digests(chain.initrds))")
        out.append("    PCR 9 kernel file: \(digests(chain.kernelFiles))")
        out.append("    PCR 9 grub.cfg: \(digests(chain.grubConfigs))")
        if chain.loadOptions != nil { out.append("    PCR 9 load options: \(digests(chain.loadOptions))") }
        if !chain.otherFiles.isEmpty { out.append("    PCR 9 other files: \(digests(chain.otherFiles))") }
    }
    return out
}

/// Reads and decodes a boot reference; errors name the file and the field.
private func loadBootReference(_ path: String) throws -> BootReference {
    let bytes = try FileBytes.read(path, limit: BootReference.maxDocumentBytes)
    do { return try BootReference.decode(bytes, source: path) } catch { throw UsageError(error.description) }
}

/// PCR values as text: lines `<bank> <pcr> <hex>` (the sysfs values, as the
/// event-log fixtures keep them) or tpm2_pcrread's YAML (`sha256:` then `  7 : 0x<hex>`).
enum PCRValuesFile {
    static func parse(_ bytes: [UInt8], path: String) throws -> [UInt32: [TCGAlgorithm: [UInt8]]] {
        var out = [UInt32: [TCGAlgorithm: [UInt8]]]()
        var bank: TCGAlgorithm?
        func algorithm(_ name: Substring) -> TCGAlgorithm? { TCGAlgorithm.known.first { $0.name == name.lowercased() } }
        for (n, raw) in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw).trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            let at = "\(path) line \(n + 1)"
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            let bankName: Substring, pcrText: Substring, hexText: Substring
            if fields.count == 3, fields[1] != ":" {
                (bankName, pcrText, hexText) = (fields[0], fields[1], fields[2])
            } else if line.hasSuffix(":"), !line.dropLast().contains(":") {
                guard let a = algorithm(line.dropLast()) else { throw UsageError("\(at): unknown PCR bank '\(line.dropLast())'") }
                bank = a
                continue
            } else if let colon = line.firstIndex(of: ":") {
                guard let b = bank else { throw UsageError("\(at): a PCR value before any 'bank:' line") }
                bankName = Substring(b.name)
                pcrText = Substring(String(line[..<colon]).trimmingWhitespace())
                hexText = Substring(String(line[line.index(after: colon)...]).trimmingWhitespace())
            } else {
                throw UsageError("\(at): expected '<bank> <pcr> <hex>' or tpm2_pcrread's '<pcr> : 0x<hex>', got '\(line)'")
            }
            guard let a = algorithm(bankName), let size = a.digestSize else { throw UsageError("\(at): unknown PCR bank '\(bankName)'") }
            guard let pcr = UInt32(pcrText), pcr <= 23 else { throw UsageError("\(at): '\(pcrText)' is not a PCR index (0-23)") }
            let digits = hexText.hasPrefix("0x") || hexText.hasPrefix("0X") ? hexText.dropFirst(2) : hexText
            guard let value = Hex.decode(digits.lowercased()), value.count == size else {
                throw UsageError("\(at): PCR \(pcr) (\(a.name)) is not \(size) bytes of hex")
            }
            guard out[pcr]?[a] == nil else { throw UsageError("\(at): PCR \(pcr) (\(a.name)) given twice") }
            out[pcr, default: [:]][a] = value
        }
        guard !out.isEmpty else { throw UsageError("\(path): no PCR values") }
        return out
    }
}

extension String {
    /// nil when empty: `list.joined().nonEmpty ?? "none"`.
    fileprivate var nonEmpty: String? { isEmpty ? nil : self }
}
