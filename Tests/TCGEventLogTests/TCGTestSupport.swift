import Foundation
import IMAFormat
import SignetCrypto
import SignetTestSupport
import TCGEventLog
import XCTest

/// OpenSSL hashing for replays and the encoder.
let tcgHashing = TCGHashing(IMALogHashing())

enum TCGFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let names = ["secureboot-on", "secureboot-off"]

    static func log(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent("\(name).bin")))
    }

    /// The PCRs the guest read ("bank pcr hex" lines), PCR 10 (IMA's) left out.
    static func guestPCRs(_ name: String) throws -> TCGPCRValues {
        let text = try String(contentsOf: directory.appendingPathComponent("\(name).pcrs"), encoding: .utf8)
        var values = TCGPCRValues()
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count == 3, let pcr = UInt32(f[1]), let value = Hex.decode(f[2].lowercased()),
                  let bank = TCGAlgorithm.known.first(where: { $0.name == f[0] }) else {
                XCTFail("bad line in \(name).pcrs: \(line)")
                continue
            }
            if pcr != 10 { values[bank, default: [:]][pcr] = value }
        }
        return values
    }
}

/// What tpm2_eventlog (tpm2-tools) prints of a log: per event the PCR, the type name and the digests,
/// and its replay (`pcrs:`).
struct ReferenceEventLog {
    struct Event: Equatable {
        var number: Int
        var pcr: UInt32
        var type: String
        var digests: [String: String] = [:]
    }

    var events: [Event] = []
    var pcrs: [String: [UInt32: String]] = [:]

    /// Runs tpm2_eventlog on `bytes`; skips the test if the tool is missing.
    static func run(_ bytes: [UInt8], in dir: String) throws -> ReferenceEventLog {
        guard let tool = which("tpm2_eventlog") else {
            throw XCTSkip("tpm2_eventlog (tpm2-tools) is not installed: run tools/setup")
        }
        let path = "\(dir)/log-\(UUID().uuidString).bin"
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let result = try runProgram(tool, [path])
        guard result.status == 0 else {
            throw NSError(domain: "tpm2_eventlog", code: Int(result.status),
                          userInfo: [NSLocalizedDescriptionKey: "tpm2_eventlog failed: \(result.stderr)"])
        }
        return parse(result.stdout)
    }

    static func parse(_ yaml: String) -> ReferenceEventLog {
        var out = ReferenceEventLog()
        var inPCRs = false
        var pcrSeen = true
        var bank = ""
        var algorithm = ""
        func value(_ line: Substring, after prefix: String) -> String {
            String(line.dropFirst(prefix.count)).trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
        }
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "pcrs:" { inPCRs = true; continue }
            if inPCRs {
                if line.hasPrefix("  ") && !line.hasPrefix("    ") && line.hasSuffix(":") {
                    bank = line.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: ":", with: "")
                } else if line.hasPrefix("    ") {
                    let parts = line.split(separator: ":", maxSplits: 1)
                    if parts.count == 2, let pcr = UInt32(parts[0].trimmingCharacters(in: .whitespaces)) {
                        out.pcrs[bank, default: [:]][pcr] = parts[1].trimmingCharacters(in: .whitespaces)
                            .replacingOccurrences(of: "0x", with: "")
                    }
                }
                continue
            }
            if line.hasPrefix("- EventNum: ") {
                out.events.append(Event(number: Int(value(line, after: "- EventNum: ")) ?? -1, pcr: 0, type: ""))
                pcrSeen = false
            } else if line.hasPrefix("  PCRIndex: ") {
                // A legacy SHA-1 log prints no EventNum: each PCRIndex starts an event.
                if pcrSeen { out.events.append(Event(number: out.events.count, pcr: 0, type: "")) }
                pcrSeen = true
                out.events[out.events.count - 1].pcr = UInt32(value(line, after: "  PCRIndex: ")) ?? .max
            } else if line.hasPrefix("  EventType: ") {
                out.events[out.events.count - 1].type = value(line, after: "  EventType: ")
            } else if line.hasPrefix("  Digest: ") {
                out.events[out.events.count - 1].digests["sha1"] = value(line, after: "  Digest: ")
            } else if line.hasPrefix("  - AlgorithmId: ") {
                algorithm = value(line, after: "  - AlgorithmId: ")
            } else if line.hasPrefix("    Digest: ") {
                out.events[out.events.count - 1].digests[algorithm] = value(line, after: "    Digest: ")
            }
        }
        return out
    }

    /// Our parse and replay in the same shape.
    static func ours(_ log: TCGEventLog, _ replay: TCGPCRReplay) -> ReferenceEventLog {
        var out = ReferenceEventLog()
        for e in log.events {
            var digests = [String: String]()
            for d in e.digests { digests[d.algorithm.name] = Hex.encode(d.bytes) }
            out.events.append(Event(number: e.index, pcr: e.pcrIndex, type: e.eventType.name ?? "Unknown event type",
                                    digests: digests))
        }
        for (bank, values) in replay.values {
            for (pcr, value) in values { out.pcrs[bank.name, default: [:]][pcr] = Hex.encode(value) }
        }
        return out
    }
}

/// Asserts our parse and replay of `bytes` equal tpm2_eventlog's.
///
/// tpm2-tools 5.4 extends EV_NO_ACTION events (with their zero digests) when it replays, against the
/// profile ("not extended"): a StartupLocality event then changes its PCR 0 but not the TPM's. With
/// `pcr0Differs` PCR 0 is left out of the comparison (it is checked against the profile's formula instead).
func assertMatchesReference(_ bytes: [UInt8], in dir: String, _ label: String, pcr0Differs: Bool = false,
                            file: StaticString = #filePath, line: UInt = #line) throws {
    let reference0 = try ReferenceEventLog.run(bytes, in: dir)
    let log = try TCGEventLog.parse(bytes)
    var ours = ReferenceEventLog.ours(log, TCGPCRReplay(log, hashing: tcgHashing))
    var reference = reference0
    if pcr0Differs {
        for bank in ours.pcrs.keys { ours.pcrs[bank]?[0] = nil }
        for bank in reference.pcrs.keys { reference.pcrs[bank]?[0] = nil }
    }
    XCTAssertEqual(ours.events.count, reference.events.count, "\(label): event count", file: file, line: line)
    XCTAssertFalse(reference.events.isEmpty, "\(label): tpm2_eventlog printed no event", file: file, line: line)
    for (a, b) in zip(ours.events, reference.events) {
        XCTAssertEqual(a, b, "\(label): event \(a.number)", file: file, line: line)
    }
    XCTAssertFalse(reference.pcrs.isEmpty, "\(label): tpm2_eventlog printed no PCR", file: file, line: line)
    XCTAssertEqual(ours.pcrs, reference.pcrs, "\(label): replayed PCRs", file: file, line: line)
}
