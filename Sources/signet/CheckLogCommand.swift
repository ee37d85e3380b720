#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import SignetCLI
import Attestation
import IMAFormat
import SignetCrypto
import Provenance
import Signing

extension Attest {
    struct CheckLog: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-log",
            abstract: "Judge a binary IMA log offline (no quote): replay PCR 10, then every entry.",
            discussion: """
                Replays the IMA PCR in the sha1 and sha256 banks (each entry's template digest \
                checked), compares the result with --pcr10 when given, and judges every entry as \
                'attest verify' does: signed by a trusted certificate, listed in a manifest at its \
                path, or excluded. Without a quote nothing proves the log is a node's: pass the \
                PCR 10 values you trust with --pcr10. The boot_aggregate entry is checked against \
                --boot-aggregate, or against PCRs 0-9 read from --tpm-pcrs (on the node itself: \
                /sys/class/tpm/tpm0, Linux >= 5.12); without either it is counted as \
                boot-aggregate-not-checked, and --exclude boot_aggregate skips it. Exit 0 only \
                when every entry passes (and the PCR values match, when given).

                Example: signet attest check-log /sys/kernel/security/ima/binary_runtime_measurements --tpm-pcrs /sys/class/tpm/tpm0 --pcr10 sha256:$(cat /sys/class/tpm/tpm0/pcr-sha256/10) --cert ima.crt.pem --manifest m.jsonl
                """)

        @Argument(help: ArgumentHelp("The binary IMA log (binary_runtime_measurements).", valueName: "log")) var log: String
        @Option(name: .customLong("pcr10"), help: ArgumentHelp("Expected PCR 10 after the whole log: HEX (bank by length) or BANK:HEX (repeatable).", valueName: "hex"))
        var pcr10: [String] = []
        @Option(name: .customLong("boot-aggregate"), help: ArgumentHelp("Expected boot_aggregate: BANK:HEX, or HEX (bank by length) (repeatable).", valueName: "hex"))
        var bootAggregate: [String] = []
        @Option(name: .customLong("tpm-pcrs"), help: ArgumentHelp("A TPM's sysfs directory (pcr-<bank>/<n> files, e.g. /sys/class/tpm/tpm0): boot_aggregate is checked against its PCRs 0-9.", valueName: "dir"))
        var tpmPCRs: String?
        @Option(help: ArgumentHelp("How the kernel extends PCR 10.", valueName: "mode")) var extendMode: ExtendModeArgument = .perBank
        @Option(help: ArgumentHelp("Threads for hashing and judging (default: all cores).", valueName: "n")) var jobs: Int?
        @Option(help: ArgumentHelp("Judge the log this many times in one process, sharing the verified-signature cache (the second round shows a fleet's warm cache).", valueName: "n"))
        var rounds = 1
        @Flag(help: "Verify every signature every time (no verified-signature cache).") var noSignatureCache = false
        @OptionGroup var reference: ReferenceOptions
        @Flag(help: "Print the result as JSON.") var json = false

        func run() throws {
            guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
            let (judge, mode, threads, expected, context): (EntryJudge, PCRExtendMode, Int, [HashAlgorithm: [UInt8]], JudgeContext) = try reportingErrors {
                var expected = [HashAlgorithm: [UInt8]]()
                for value in pcr10 {
                    let (bank, bytes) = try Self.bankValue(value, option: "--pcr10")
                    guard bank == .sha1 || bank == .sha256 else {
                        throw UsageError("--pcr10 '\(value)': give a sha1 (20 bytes) or sha256 (32 bytes) value")
                    }
                    expected[bank] = bytes
                }
                var aggregates = [HashAlgorithm: [UInt8]]()
                for value in bootAggregate {
                    let (bank, bytes) = try Self.bankValue(value, option: "--boot-aggregate")
                    aggregates[bank] = bytes
                }
                if let tpmPCRs {
                    let read = try Self.bootAggregates(sysfs: tpmPCRs)
                    aggregates.merge(read) { given, _ in given }
                }
                let context = JudgeContext(bootAggregates: aggregates, requiresBootAggregate: !aggregates.isEmpty)
                let mode = extendMode.mode
                guard reference.bootReferences.isEmpty else {
                    throw UsageError("--boot-reference needs a quote to trust the firmware event log: use 'signet attest verify', or 'signet boot-reference check' for an event log and PCR values alone")
                }
                let ref = try reference.load()
                let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
                let cache = noSignatureCache ? SignatureCache(capacity: 0) : SignatureCache()
                return (EntryJudge(reference: ref, cache: cache), mode, max(1, jobs ?? cores), expected, context)
            }
            var passedAll = true
            for round in 1...rounds {
                if !(try checkOnce(judge: judge, context: context, mode: mode, threads: threads, expected: expected, round: round)) {
                    passedAll = false
                }
            }
            if !passedAll { throw Exit.someFailed }
        }

        /// `BANK:HEX`, or `HEX` with the bank told by its length (sha1 or sha256).
        static func bankValue(_ value: String, option: String) throws -> (HashAlgorithm, [UInt8]) {
            var bank: HashAlgorithm?
            var hex = Substring(value)
            if let colon = value.firstIndex(of: ":") {
                let name = String(value[..<colon])
                guard let b = HashAlgorithm.allCases.first(where: { $0.name == name }) else {
                    throw UsageError("\(option) '\(value)': unknown bank '\(name)'")
                }
                bank = b
                hex = value[value.index(after: colon)...]
            }
            guard let bytes = Hex.decode(String(hex)), !bytes.isEmpty else { throw UsageError("\(option) '\(value)' is not hex") }
            if bank == nil { bank = bytes.count == 20 ? .sha1 : bytes.count == 32 ? .sha256 : nil }
            guard let bank else { throw UsageError("\(option) '\(value)': \(bytes.count) bytes; name the bank (BANK:HEX)") }
            guard bytes.count == bank.digestLength else {
                throw UsageError("\(option) '\(value)': \(bytes.count) bytes, but a \(bank.name) value has \(bank.digestLength)")
            }
            return (bank, bytes)
        }

        /// The boot aggregate of every bank whose PCRs 0-9 (0-7 for sha1) a
        /// TPM's sysfs directory exposes (`pcr-<bank>/<n>`, upper-case hex).
        static func bootAggregates(sysfs directory: String) throws -> [HashAlgorithm: [UInt8]] {
            var out = [HashAlgorithm: [UInt8]]()
            var problems = [String]()
            for bank in HashAlgorithm.allCases {
                let bankDirectory = "\(directory)/pcr-\(bank.name)"
                guard access(bankDirectory, F_OK) == 0 else { continue }
                var values = [UInt32: [UInt8]]()
                for pcr in BootAggregate.pcrIndices(for: bank) {
                    let file = "\(bankDirectory)/\(pcr)"
                    let text = String(String(decoding: try FileBytes.read(file, limit: 1024), as: UTF8.self).filter { !$0.isWhitespace })
                    guard let value = Hex.decode(text.lowercased()), value.count == bank.digestLength else {
                        throw UsageError("\(file): not a \(bank.name) PCR value ('\(text.prefix(80))')")
                    }
                    values[pcr] = value
                }
                do { out[bank] = try BootAggregate.compute(bank: bank, pcrValues: values, using: IMALogHashing()) } catch {
                    problems.append("\(bank.name): \(error)")
                }
            }
            guard !out.isEmpty else {
                let why = problems.isEmpty ? "no pcr-sha1/ or pcr-sha256/ directory" : problems.joined(separator: "; ")
                throw UsageError("--tpm-pcrs \(directory): no PCR 0-9 values to check boot_aggregate with (\(why))")
            }
            return out
        }

        /// One pass over the log; prints its result and tells whether it passed.
        private func checkOnce(judge: EntryJudge, context: JudgeContext, mode: PCRExtendMode, threads: Int,
                               expected: [HashAlgorithm: [UInt8]], round: Int) throws -> Bool {
            var checker: LogChecker
            do {
                checker = try LogChecker(judge: judge, context: context, banks: [.sha1, .sha256], mode: mode, jobs: threads)
            } catch {
                throw UsageError("\(error)")
            }
            let start = Self.now()
            var problem: LogCheckError?
            try reportingErrors {
                let fd = open(log, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw UsageError("\(log): \(String(cString: strerror(errno)))") }
                defer { close(fd) }
                var chunk = [UInt8](repeating: 0, count: 4 << 20)
                while true {
                    let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw UsageError("\(log): \(String(cString: strerror(errno)))")
                    }
                    if n == 0 { break }
                    do throws(LogCheckError) { try checker.append(chunk[0..<n]) } catch {
                        problem = error
                        break
                    }
                }
                if problem == nil {
                    do throws(LogCheckError) { try checker.finish() } catch { problem = error }
                }
            }
            let seconds = max(Self.now() - start, 1e-9)
            let summary = checker.summary
            var mismatches = [String]()
            for bank in expected.keys.sorted(by: { $0.rawValue < $1.rawValue }) where checker.pcrValue(bank: bank) != expected[bank] {
                mismatches.append("\(bank.name): replayed \(Hex.encode(checker.pcrValue(bank: bank))), expected \(Hex.encode(expected[bank]!))")
            }
            let passed = problem == nil && summary.failureCount == 0 && mismatches.isEmpty
            let rate = Double(summary.entries) / seconds
            let pcrs = checker.banks.map { ($0.name, Hex.encode(checker.pcrValue(bank: $0))) }
            if json {
                var pairs: [(String, String)] = [
                    ("round", "\(round)"),
                    ("passed", passed ? "true" : "false"),
                    ("entries", "\(summary.entries)"),
                    ("seconds", fixed(seconds, 6)),
                    ("entries_per_second", "\(Int(rate))"),
                    ("acceptances", JSON.object(summary.acceptances.sorted { $0.key.rawValue < $1.key.rawValue }.map { ($0.key.rawValue, "\($0.value)") })),
                    ("failed", "\(summary.failureCount)"),
                    ("pcr10", JSON.object(pcrs.map { ($0.0, JSON.string($0.1)) })),
                    ("pcr10_mismatches", JSON.array(mismatches.map(JSON.string))),
                    ("failures", JSON.array(summary.failures.map { f in
                        JSON.object([("entry", "\(f.entryIndex)"), ("offset", "\(f.offset)"), ("code", JSON.string(f.code.rawValue))]
                                    + JSON.pathPairs(FilePath(bytes: f.path)) + [("reason", JSON.string(f.reason))])
                    })),
                ]
                if let problem { pairs.append(("log_problem", JSON.string(problem.description))) }
                Console.out(JSON.object(pairs))
            } else {
                for f in summary.failures {
                    Console.out("FAIL entry \(f.entryIndex) (byte \(f.offset)) \(f.displayPath): \(f.code.rawValue): \(f.reason)")
                }
                if summary.failureCount > summary.failures.count {
                    Console.out("… and \(summary.failureCount - summary.failures.count) more failures")
                }
                if let problem { Console.out("LOG \(problem.description)") }
                for m in mismatches { Console.out("PCR10 mismatch: \(m)") }
                for (bank, value) in pcrs { Console.out("pcr10 \(bank): \(value)") }
                let accepted = summary.acceptances.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \($0.value)" }
                    .joined(separator: ", ")
                let roundLabel = rounds > 1 ? "round \(round) " : ""
                let acceptedLabel = accepted.isEmpty ? "" : " (accepted: \(accepted))"
                let pcrLabel = expected.isEmpty ? "PCR 10 not compared (no --pcr10)" : (mismatches.isEmpty ? "PCR 10 matches" : "PCR 10 DOES NOT MATCH")
                Console.out("\(roundLabel)\(passed ? "pass" : "FAIL"): \(summary.entries) entries in \(fixed(seconds, 3))s "
                            + "(\(fixed(rate, 0)) entries/s), \(summary.failureCount) failed\(acceptedLabel); \(pcrLabel)")
            }
            return passed
        }

        static func now() -> Double {
            var ts = timespec()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        }
    }
}

/// `--extend-mode`: how the kernel extends the IMA PCR in each bank.
enum ExtendModeArgument: String, CaseIterable, ExpressibleByArgument {
    case perBank = "per-bank"
    case paddedSHA1 = "padded-sha1"

    var mode: PCRExtendMode { self == .perBank ? .perBankTemplateHash : .paddedSHA1 }

    static var allValueDescriptions: [String: String] {
        ["per-bank": "each bank with its own template hash (Linux 5.8 and later)",
         "padded-sha1": "every bank with the SHA-1 template hash, zero-padded (before Linux 5.8)"]
    }
}
