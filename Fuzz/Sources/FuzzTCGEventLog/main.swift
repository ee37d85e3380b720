import FuzzSupport
import IMAFormat
import TCGEventLog

/// The TCG PC Client event log: parse (lenient and strict), walk every
/// decoded content, replay with a stand-in hash; never crash. A strict parse
/// that succeeds must leave no malformed content, and agree with the lenient one.
struct XorHashing: TCGEventLogHashing {
    func hash(_ algorithm: TCGAlgorithm, _ parts: [[UInt8]]) -> [UInt8]? {
        guard let size = algorithm.digestSize else { return nil }
        var out = [UInt8](repeating: 0, count: size)
        var i = 0
        for part in parts { for b in part { out[i % size] = out[i % size] &* 31 &+ b; i += 1 } }
        return out
    }
}

let body: FuzzBody = { data, size in
    let bytes = fuzzInput(data, size)
    // Device paths are read best-effort outside any event too (short nodes must not trap).
    let path = EFIDevicePath(Array(bytes.prefix(512)))
    _ = path.description
    _ = path.filePath
    let lenient = try? TCGEventLog.parse(bytes)
    let strict = try? TCGEventLog.parse(bytes, options: TCGEventLogOptions(strictContent: true))
    if let strict {
        precondition(strict.contentErrors.isEmpty, "strict parse kept malformed content")
        precondition(lenient?.events.count == strict.events.count, "strict and lenient parses disagree")
    }
    if let log = lenient {
        for event in log.events {
            precondition(event.offset + event.encodedLength <= bytes.count, "event beyond the log")
            switch event.content {
            case .imageLoad(let image): _ = image.devicePath.description; _ = image.devicePath.filePath
            case .variable(let v):
                if case .loadOption(let o) = v.value { _ = o.devicePath.description }
            case .ipl(let i): _ = i.text
            case .malformed(let e): precondition(e.eventIndex == event.index, "content error names another event")
            default: break
            }
        }
        let replay = TCGPCRReplay(log, hashing: XorHashing())
        _ = replay.firstMismatch(against: [.sha256: [0: [UInt8](repeating: 0, count: 32)]])
    }
    return 0
}

@_cdecl("FuzzTCGEventLog_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, body)
}
