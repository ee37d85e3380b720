import FuzzSupport
import IMAFormat

/// Binary and ASCII measurement logs: parse fed in two chunks at a
/// data-chosen split must equal the whole-buffer parse, and never crash.
let body: FuzzBody = { data, size in
    let bytes = fuzzInput(data, size)
    let whole = try? BinaryMeasurementLogParser.parse(bytes, options: MeasurementLogOptions())
    let split = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    var parser = BinaryMeasurementLogParser(options: MeasurementLogOptions())
    var entries = [MeasurementEntry]()
    var failed = false
    do {
        parser.append(Array(bytes[0..<split]))
        while let e = try parser.next() { entries.append(e) }
        parser.append(Array(bytes[split...]))
        while let e = try parser.next() { entries.append(e) }
        try parser.finish()
    } catch {
        failed = true
    }
    if let whole {
        precondition(!failed && whole.count == entries.count, "chunked parse disagrees with whole parse")
    }
    _ = try? ASCIIMeasurementLogParser.parse(String(decoding: bytes, as: UTF8.self), options: MeasurementLogOptions())
    return 0
}

@_cdecl("FuzzMeasurementLog_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, body)
}
