import Foundation
import XCTest
import StrictJSON

/// The strict syntax check every JSON document from a node or an operator passes before it is
/// decoded: one document, one meaning.
final class StrictJSONTests: XCTestCase {
    private func assertValid(_ text: String, options: StrictJSON.Options = .init(), file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNoThrow(try StrictJSON.validate(Array(text.utf8), options: options), text, file: file, line: line)
    }

    @discardableResult
    private func assertRefused(_ bytes: [UInt8], _ code: StrictJSONError.Code, path: String? = nil, offset: Int? = nil,
                               options: StrictJSON.Options = .init(), file: StaticString = #filePath, line: UInt = #line) -> StrictJSONError? {
        do {
            try StrictJSON.validate(bytes, options: options)
            XCTFail("accepted \(String(decoding: bytes.prefix(200), as: UTF8.self)); expected \(code)", file: file, line: line)
            return nil
        } catch {
            XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
            if let path { XCTAssertEqual(error.path, path, "\(error)", file: file, line: line) }
            if let offset { XCTAssertEqual(error.offset, offset, "\(error)", file: file, line: line) }
            return error
        }
    }

    @discardableResult
    private func assertRefused(_ text: String, _ code: StrictJSONError.Code, path: String? = nil, offset: Int? = nil,
                               options: StrictJSON.Options = .init(), file: StaticString = #filePath, line: UInt = #line) -> StrictJSONError? {
        assertRefused(Array(text.utf8), code, path: path, offset: offset, options: options, file: file, line: line)
    }

    func testValidDocumentsPass() {
        for text in ["{}", "[]", "0", "-0", "1.5e-3", "\"\"", "true", "false", "null", " \t\r\n{ } \n",
                     #"{"a": [1, 2, {"b": null}], "c": {"d": "e"}, "f": -12.5E+2}"#,
                     #"{"esc": "\" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00"}"#,
                     "{\"utf8\": \"é ✓ 😀\"}",
                     #"[{"a": 1}, {"a": 2}]"#,  // the same key in two objects is not a duplicate
                     #"{"a": {"a": {"a": 1}}}"#,
                     #"{"A": 1, "a": 2}"#] {  // keys are case-sensitive
            assertValid(text)
            // Foundation reads everything this check accepts.
            XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed), text)
        }
    }

    func testDuplicateKeysAreRefusedNamingPathAndOffset() throws {
        let top = #"{"nonce": "aa", "nonce": "bb"}"#
        let e = try XCTUnwrap(assertRefused(top, .duplicateKey, path: "nonce", offset: 16))
        XCTAssertTrue(e.reason.contains("first at byte 1"), e.reason)
        XCTAssertTrue(e.description.contains("nonce") && e.description.contains("16"), e.description)
        assertRefused(#"{"ima_log": {"data": "", "encoding": "binary", "data": "AAAA"}}"#, .duplicateKey, path: "ima_log.data", offset: 47)
        assertRefused(#"{"excludes": [{"a": 1}, {"b": 1, "b": 2}]}"#, .duplicateKey, path: "excludes[1].b")
        assertRefused(#"[[{"x": [{"y": 1, "y": 1}]}]]"#, .duplicateKey, path: "[0][0].x[0].y")
        // Escaped spellings of one key are the same key.
        assertRefused(#"{"format": 1, "f\u006frmat": 2}"#, .duplicateKey, path: "format")
        assertRefused(#"{"a\/b": 1, "a/b": 2}"#, .duplicateKey, path: "a/b")
        // Canonically equivalent keys (é precomposed and decomposed): Swift treats them as one key.
        assertRefused("{\"caf\u{E9}\": 1, \"cafe\u{301}\": 2}", .duplicateKey)
        // A key with a control character is named printably.
        let weird = try XCTUnwrap(assertRefused(#"{"a\nb": 1, "a\u000ab": 2}"#, .duplicateKey))
        XCTAssertEqual(weird.path, "a\\u000Ab")
        // The third copy of a key: still the first duplicate that is named.
        assertRefused(#"{"k": 1, "k": 2, "k": 3}"#, .duplicateKey, offset: 9)
    }

    func testByteOrderMarksAreRefused() {
        assertRefused([0xEF, 0xBB, 0xBF] + Array("{}".utf8), .byteOrderMark, offset: 0)
        assertRefused([0xFE, 0xFF, 0x00, 0x7B, 0x00, 0x7D], .byteOrderMark, offset: 0)
        assertRefused([0xFF, 0xFE, 0x7B, 0x00, 0x7D, 0x00], .byteOrderMark, offset: 0)
        // A BOM further in is an unexpected character, not skipped.
        assertRefused([0x20, 0xEF, 0xBB, 0xBF] + Array("{}".utf8), .unexpectedCharacter, offset: 1)
    }

    func testSyntaxErrors() {
        assertRefused("", .unexpectedEnd, offset: 0)
        assertRefused("   ", .unexpectedEnd)
        assertRefused(#"{"a": 1,}"#, .unexpectedCharacter, offset: 8)
        assertRefused("[1,]", .unexpectedCharacter, offset: 3)
        assertRefused("[1 2]", .unexpectedCharacter, path: "[0]", offset: 3)
        assertRefused(#"{"a" 1}"#, .unexpectedCharacter, path: "a")
        assertRefused("{a: 1}", .unexpectedCharacter, offset: 1)
        assertRefused("{'a': 1}", .unexpectedCharacter)
        assertRefused("{} {}", .trailingData, offset: 3)
        assertRefused("{}\0", .trailingData)
        assertRefused("[1] x", .trailingData)
        assertRefused("tru", .unexpectedCharacter)
        assertRefused("nul", .unexpectedCharacter)
        assertRefused("True", .unexpectedCharacter)
        assertRefused("NaN", .unexpectedCharacter)
        assertRefused("[Infinity]", .unexpectedCharacter, path: "[0]")
        assertRefused("// c\n{}", .unexpectedCharacter)
        assertRefused("{\u{A0}}", .unexpectedCharacter)  // a no-break space is not JSON whitespace
        for number in ["01", "-", "-01", "1.", ".5", "+1", "1e", "1e+", "0x10", "1.e5"] {
            let code: StrictJSONError.Code = ["+1", ".5"].contains(number) ? .unexpectedCharacter
                : number == "0x10" ? .trailingData : .invalidNumber
            assertRefused("[\(number)]".replacingOccurrences(of: "[0x10]", with: "0x10"), code)
        }
    }

    func testStringsMustBeStrictUTF8WithJSONEscapes() {
        assertRefused("[\"a\tb\"]", .controlCharacter, path: "[0]", offset: 3)
        assertRefused("[\"a\nb\"]", .controlCharacter)
        assertRefused("[\"a\0b\"]", .controlCharacter)
        assertRefused(#"["\x41"]"#, .invalidEscape, offset: 2)
        assertRefused(#"["\'"]"#, .invalidEscape)
        assertRefused(#"["\u12"]"#, .invalidEscape)
        assertRefused(#"["\u12G4"]"#, .invalidEscape)
        assertRefused(#"["\ud800"]"#, .loneSurrogate, offset: 2)
        assertRefused(#"["\ud800\u0041"]"#, .loneSurrogate)
        assertRefused(#"["\udc00"]"#, .loneSurrogate)
        assertRefused(#"{"\ud800": 1}"#, .loneSurrogate)
        assertRefused([0x5B, 0x22, 0xC0, 0x80, 0x22, 0x5D], .invalidUTF8, offset: 2)  // overlong NUL
        assertRefused([0x5B, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x5D], .invalidUTF8)  // a surrogate in UTF-8
        assertRefused([0x5B, 0x22, 0xF4, 0x90, 0x80, 0x80, 0x22, 0x5D], .invalidUTF8)  // above U+10FFFF
        assertRefused([0x5B, 0x22, 0xE2, 0x9C, 0x22, 0x5D], .invalidUTF8)  // cut short
        assertRefused([0x5B, 0x22, 0x80, 0x22, 0x5D], .invalidUTF8)  // a lone continuation byte
        assertRefused([0x5B, 0x22, 0xFF, 0x22, 0x5D], .invalidUTF8)
        assertRefused([0x5B, 0x22, 0xE2, 0x9C], .unexpectedEnd)
        assertRefused("[\"abc", .unexpectedEnd)
        assertRefused(#"["abc\"#, .unexpectedEnd)
    }

    func testDepthIsBounded() {
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        assertValid(ok)
        let deep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        assertRefused(deep, .tooDeep, offset: 512)
        let objects = String(repeating: #"{"a":"#, count: 513) + "1" + String(repeating: "}", count: 513)
        assertRefused(objects, .tooDeep)
        assertValid("[[[1]]]", options: .init(maxDepth: 3))
        assertRefused("[[[[1]]]]", .tooDeep, options: .init(maxDepth: 3))
        // A million open brackets: a typed error, no stack overflow.
        assertRefused(String(repeating: "[", count: 1_000_000), .tooDeep)
        assertRefused(String(repeating: "[", count: 100), .unexpectedEnd, options: .init(maxDepth: 1000))
    }

    func testIntegerPaths() {
        let options = StrictJSON.Options(integerPaths: [["version"], ["log", "from"]])
        assertValid(#"{"version": 1, "log": {"from": 0}, "other": 1.5}"#, options: options)
        assertRefused(#"{"version": 1.0}"#, .notAnInteger, path: "version", offset: 12, options: options)
        assertRefused(#"{"version": 1e0}"#, .notAnInteger, path: "version", options: options)
        assertRefused(#"{"log": {"from": 3.0}}"#, .notAnInteger, path: "log.from", options: options)
        // Only the listed paths: the same key elsewhere may be a fraction.
        assertValid(#"{"x": {"version": 1.0}, "list": [{"version": 2.5}]}"#, options: options)
        assertValid(#"{"version": 1.0}"#)
    }

    func testEveryPrefixOfADocumentIsRefusedAndNeverCrashes() {
        let doc = Array(#"{"format": "signet-evidence", "version": 1, "pcrs": {"sha256": {"0": "00ff"}}, "list": [1, -2.5e3, true, null, "é\u00e9"]}"#.utf8)
        XCTAssertNoThrow(try StrictJSON.validate(doc))
        for cut in 0..<doc.count {
            XCTAssertThrowsError(try StrictJSON.validate(Array(doc.prefix(cut))), "prefix \(cut)")
            XCTAssertThrowsError(try StrictJSON.validate(doc[0..<cut]), "slice prefix \(cut)")
        }
        // Every single-byte change either still parses or is a typed error, never a crash.
        for at in 0..<doc.count {
            for byte: UInt8 in [0x00, 0x22, 0x2C, 0x5C, 0x7B, 0x7D, 0x80, 0xFF] {
                var changed = doc
                changed[at] = byte
                _ = try? StrictJSON.validate(changed)
            }
        }
    }

    func testSliceOffsetsCountFromTheSliceStart() {
        let lines = Array("{\"a\": 1}\n{\"b\": 1, \"b\": 2}\n".utf8)
        let second = lines.split(separator: 0x0A)[1]
        XCTAssertThrowsError(try StrictJSON.validate(second)) { error in
            XCTAssertEqual((error as? StrictJSONError)?.offset, 9)
        }
    }
}
