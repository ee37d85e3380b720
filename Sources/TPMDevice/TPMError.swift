import TPM
import CTSS2

/// Why talking to a TPM failed: which operation, the TSS2 response code and
/// its text as `Tss2_RC_Decode` gives it. Equatable on `code` only.
public struct TPMError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Code: Equatable, Sendable {
        /// The TCTI could not be loaded or connected (no device, no simulator, bad config string).
        case tctiUnavailable
        /// A TPM command failed; `responseCode` says why.
        case commandFailed
        /// The TPM answered something unusable (a PCR it did not return, a structure that does not parse).
        case unexpectedResponse
        /// A caller-supplied value is out of range (nonce too long, empty PCR selection).
        case invalidArgument
        /// Saved key files are missing, unreadable or inconsistent.
        case keyFiles
    }

    public let code: Code
    /// The ESAPI call or step, e.g. "Esys_Quote".
    public let operation: String
    /// The TSS2_RC, when a TSS call failed.
    public let responseCode: UInt32?
    public let reason: String

    public init(_ code: Code, operation: String, responseCode: UInt32? = nil, _ reason: String) {
        self.code = code
        self.operation = operation
        self.responseCode = responseCode
        self.reason = reason
    }

    public var description: String {
        if let responseCode { return "\(operation): \(reason) (TSS2_RC 0x\(hex(responseCode, width: 8)))" }
        return "\(operation): \(reason)"
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }

    /// A failed TSS call, decoded with Tss2_RC_Decode.
    static func tss(_ rc: TSS2_RC, _ operation: String, code: Code = .commandFailed) -> TPMError {
        let text = Tss2_RC_Decode(rc).map { String(cString: $0) } ?? "unknown error"
        return TPMError(code, operation: operation, responseCode: rc, text)
    }

    /// True for TPM_RC_HANDLE from the TPM (format-one error 0x0B on any handle):
    /// the object or NV index does not exist.
    var isHandleError: Bool {
        guard let rc = responseCode, rc & 0xFFFF_0000 == 0 || rc & 0xFFFF_0000 == 0x000B_0000 else { return false }
        return rc & 0x080 != 0 && rc & 0x03F == 0x00B
    }
}

/// Throws a `TPMError` for a non-success TSS2_RC.
@inline(__always)
func check(_ rc: TSS2_RC, _ operation: String) throws(TPMError) {
    guard rc == 0 else { throw TPMError.tss(rc, operation) }
}
