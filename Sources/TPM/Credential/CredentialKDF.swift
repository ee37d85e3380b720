import IMAFormat
import SignetCrypto

/// The TPM 2.0 key derivation functions (TPM 2.0 Part 1, 11.4.10), as the
/// TPM computes them when it unwraps a credential. Labels are ASCII and are
/// hashed with a terminating NUL ("STORAGE" is the 8 bytes "STORAGE\0").
enum CredentialKDF {
    /// KDFa: SP 800-108 counter mode with HMAC-`hash`:
    /// HMAC(key, [i]₃₂ ‖ label ‖ 00 ‖ contextU ‖ contextV ‖ [bits]₃₂) for i = 1, 2, …,
    /// concatenated and cut to `bits` (a multiple of 8).
    static func kdfa(_ hash: HashAlgorithm, key: [UInt8], label: String, contextU: [UInt8], contextV: [UInt8],
                     bits: Int) throws(CredentialError) -> [UInt8] {
        precondition(bits > 0 && bits % 8 == 0, "KDFa: bits must be a positive multiple of 8")
        var out = [UInt8]()
        var counter: UInt32 = 0
        while out.count < bits / 8 {
            counter += 1
            let data = be32(counter) + terminated(label) + contextU + contextV + be32(UInt32(bits))
            do {
                out += try CredentialPrimitives.hmac(hash, key: key, data: data)
            } catch {
                throw CredentialError(.cryptoFailure, field: "KDFa(\(label))", "\(error)")
            }
        }
        return Array(out.prefix(bits / 8))
    }

    /// KDFe: SP 800-56A concatenation KDF with `hash`:
    /// H([i]₃₂ ‖ Z ‖ label ‖ 00 ‖ partyUInfo ‖ partyVInfo) for i = 1, 2, …, cut to `bits`.
    static func kdfe(_ hash: HashAlgorithm, z: [UInt8], label: String, partyUInfo: [UInt8], partyVInfo: [UInt8],
                     bits: Int) -> [UInt8] {
        precondition(bits > 0 && bits % 8 == 0, "KDFe: bits must be a positive multiple of 8")
        var out = [UInt8]()
        var counter: UInt32 = 0
        while out.count < bits / 8 {
            counter += 1
            out += Digester.hash(be32(counter) + z + terminated(label) + partyUInfo + partyVInfo, hash)
        }
        return Array(out.prefix(bits / 8))
    }

    /// The label's bytes with one terminating NUL.
    static func terminated(_ label: String) -> [UInt8] {
        let bytes = Array(label.utf8)
        return bytes.last == 0 ? bytes : bytes + [0]
    }

    private static func be32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)]
    }
}
