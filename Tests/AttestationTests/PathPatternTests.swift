import XCTest
import Attestation

final class PathPatternTests: XCTestCase {
    func testGlob() throws {
        let logs = try PathPattern.glob("/var/log/*")
        XCTAssertTrue(logs.matches(Array("/var/log/a/b.log".utf8)))
        XCTAssertFalse(logs.matches(Array("/var/logx".utf8)))
        XCTAssertFalse(logs.matches(Array("/usr/var/log/a".utf8)))
        let one = try PathPattern.glob("/tmp/?.sh")
        XCTAssertTrue(one.matches(Array("/tmp/a.sh".utf8)))
        XCTAssertFalse(one.matches(Array("/tmp/ab.sh".utf8)))
        let literal = try PathPattern.glob("/opt/\\*star")
        XCTAssertTrue(literal.matches(Array("/opt/*star".utf8)))
        XCTAssertFalse(literal.matches(Array("/opt/xstar".utf8)))
        // Non-UTF-8 paths are matched byte for byte.
        XCTAssertTrue(logs.matches(Array("/var/log/".utf8) + [0xff, 0xfe]))
        XCTAssertThrowsError(try PathPattern.glob(""))
        XCTAssertThrowsError(try PathPattern.glob("/a\\"))
    }

    func testRegexIsAnchoredAtTheStartLikePythonMatch() throws {
        let tmp = try PathPattern.regex("/tmp/")
        XCTAssertTrue(tmp.matches(Array("/tmp/x".utf8)))
        XCTAssertFalse(tmp.matches(Array("/var/tmp/x".utf8)))
        let exact = try PathPattern.regex("/usr/bin/foo\\Z")
        XCTAssertTrue(exact.matches(Array("/usr/bin/foo".utf8)))
        XCTAssertFalse(exact.matches(Array("/usr/bin/foo\n".utf8)))
        XCTAssertFalse(exact.matches(Array("/usr/bin/foobar".utf8)))
        let named = try PathPattern.regex("/home/(?P<user>[a-z]+)/(?P=user)\\.sh")
        XCTAssertTrue(named.matches(Array("/home/bob/bob.sh".utf8)))
        XCTAssertFalse(named.matches(Array("/home/bob/eve.sh".utf8)))
        XCTAssertFalse(tmp.matches(Array("/tmp/".utf8) + [0xff]), "only UTF-8 paths match a regex")
        XCTAssertThrowsError(try PathPattern.regex("(unclosed")) { error in
            XCTAssertEqual((error as? ReferenceError)?.code, .invalidPattern)
        }
    }

    func testGlobAsKeylimeRegexMatchesTheSamePaths() throws {
        for glob in ["/var/log/*", "/tmp/?.sh", "/opt/a+b(c)/*.so"] {
            let pattern = try PathPattern.glob(glob)
            let regex = try PathPattern.regex(pattern.keylimeRegex)
            for path in ["/var/log/x", "/var/logx", "/tmp/a.sh", "/tmp/ab.sh", "/opt/a+b(c)/l.so", "/opt/aab(c)/l.so",
                         "/opt/a+b(c)/l.so.1"] {
                XCTAssertEqual(regex.matches(Array(path.utf8)), pattern.matches(Array(path.utf8)), "\(glob) vs \(path)")
            }
        }
    }

    /// Where Swift's `Regex` and Python's `re` differ, the pattern is translated so that a
    /// Keylime exclude matches what Keylime (Python) matches. Expected values checked with python3.
    func testRegexFollowsPythonWhereSwiftDiffers() throws {
        func matches(_ pattern: String, _ path: String) throws -> Bool { try PathPattern.regex(pattern).matches(Array(path.utf8)) }
        // `$`: the end, or before one final newline (unless (?m)).
        XCTAssertTrue(try matches("/a$", "/a"))
        XCTAssertTrue(try matches("/a$", "/a\n"))
        XCTAssertFalse(try matches("/a$", "/a\nb"))
        XCTAssertFalse(try matches("/a$", "/a\r"))
        XCTAssertFalse(try matches("/a$", "/ab"))
        XCTAssertTrue(try matches("(?m)/a$", "/a\nb"))
        XCTAssertTrue(try matches("/a[$]", "/a$"), "a $ in a class is a literal")
        XCTAssertTrue(try matches("/a\\$", "/a$"))
        // `.`: any code point but \n (Swift's `.` would also refuse \r and U+2028), one code point, not one character.
        XCTAssertTrue(try matches("/a.b", "/a\rb"))
        XCTAssertTrue(try matches("/a.b", "/a\u{2028}b"))
        XCTAssertFalse(try matches("/a.b", "/a\nb"))
        XCTAssertTrue(try matches("(?s)/a.b", "/a\nb"))
        XCTAssertFalse(try matches("/tmp/.\\Z", "/tmp/e\u{301}"))
        XCTAssertTrue(try matches("/tmp/..\\Z", "/tmp/e\u{301}"))
        // `\Z` is the absolute end; an escaped backslash before Z is a literal.
        XCTAssertFalse(try matches("/a\\Z", "/a\n"))
        XCTAssertTrue(try matches("/a\\\\Z", "/a\\Z"))
        // Character classes: `[` is a literal inside one, `]` first is a literal.
        XCTAssertTrue(try matches("/x[[a]\\Z", "/x["))
        XCTAssertTrue(try matches("/x[]a]\\Z", "/x]"))
        XCTAssertTrue(try matches("/x[^]a]\\Z", "/xb"))
        XCTAssertFalse(try matches("/x[^]a]\\Z", "/x]"))
        // Flags, lookahead and Unicode classes as in Python.
        XCTAssertTrue(try matches("(?i)/TMP/x", "/tmp/X"))
        XCTAssertFalse(try matches("/x(?!y)", "/xy"))
        XCTAssertTrue(try matches("/home/\\w+\\Z", "/home/\u{00FC}ber"))
        // Lookbehind is not supported by Swift's Regex: refused, naming the pattern, never silently unmatched.
        XCTAssertThrowsError(try PathPattern.regex("/a(?<=a)b")) { error in
            XCTAssertEqual((error as? ReferenceError)?.code, .invalidPattern)
            XCTAssertTrue("\(error)".contains("/a(?<=a)b"), "\(error)")
        }
    }
}
