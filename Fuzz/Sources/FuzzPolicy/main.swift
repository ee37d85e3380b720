import FuzzSupport
import IMAFormat

/// IMA policy text: parse, and for what parses, render → parse must give the
/// same policy; the linter must not crash on anything that parses.
let body: FuzzBody = { data, size in
    let text = String(decoding: fuzzInput(data, size), as: UTF8.self)
    guard let policy = try? IMAPolicy(parsing: text) else { return 0 }
    let again = try? IMAPolicy(parsing: policy.render())
    precondition(again?.rules == policy.rules, "render/parse round trip changed the rules")
    _ = PolicyLinter.lint(policy, kernel: KernelVersion(6, 1))
    return 0
}

@_cdecl("FuzzPolicy_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, body)
}
