#if canImport(Glibc)
import Glibc
#endif

/// The text of an errno value ("Permission denied").
func errnoText(_ code: Int32) -> String {
    guard let p = strerror(code) else { return "errno \(code)" }
    return String(validatingCString: p) ?? "errno \(code)"
}
