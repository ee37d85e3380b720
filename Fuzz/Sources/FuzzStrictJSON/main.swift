import FuzzSupport
import StrictJSON

/// Any bytes through the strict JSON check every document from a node or an operator passes
/// first: a typed error or a pass, never a crash or a hang; the error's offset is inside the
/// input. A document that passes is still refused with a byte order mark in front, and when it
/// is given twice under one key (the duplicate named at the second key's offset).
let body: FuzzBody = { data, size in
    let bytes = fuzzInput(data, size)
    do throws(StrictJSONError) {
        try StrictJSON.validate(bytes)
    } catch {
        precondition(error.offset >= 0 && error.offset <= bytes.count, "offset \(error.offset) outside the input")
        return 0
    }
    do throws(StrictJSONError) {
        try StrictJSON.validate([0xEF, 0xBB, 0xBF] + bytes)
        preconditionFailure("a byte order mark was accepted")
    } catch {
        precondition(error.code == .byteOrderMark && error.offset == 0, "BOM: \(error)")
    }
    let head = Array(#"{"k":"#.utf8)
    let doubled = head + bytes + Array(#","k":"#.utf8) + bytes + Array("}".utf8)
    do throws(StrictJSONError) {
        try StrictJSON.validate(doubled, options: StrictJSON.Options(maxDepth: StrictJSON.defaultMaxDepth + 1))
        preconditionFailure("a duplicate key was accepted")
    } catch {
        precondition(error.code == .duplicateKey && error.path == "k" && error.offset == head.count + bytes.count + 1,
                     "duplicate: \(error)")
    }
    return 0
}

@_cdecl("FuzzStrictJSON_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, body)
}
