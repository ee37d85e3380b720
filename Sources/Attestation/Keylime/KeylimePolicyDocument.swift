#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import IMAFormat

/// The JSON shape of a Keylime runtime policy; `KeylimeRuntimePolicy`
/// validates the values.
struct KeylimePolicyDocument: Codable {
    struct Meta: Codable {
        var version: Int
        var generator: Int?
        var timestamp: String?
    }

    struct IMA: Codable {
        var ignoredKeyrings: [String]
        var logHashAlg: String
        /// Whether the key is present, and whether its value is null (decoding only).
        var dmPolicyPresent: Bool?
        var dmPolicyIsNull: Bool?

        enum CodingKeys: String, CodingKey {
            case ignoredKeyrings = "ignored_keyrings"
            case logHashAlg = "log_hash_alg"
            case dmPolicy = "dm_policy"
        }

        init(ignoredKeyrings: [String], logHashAlg: String) {
            self.ignoredKeyrings = ignoredKeyrings
            self.logHashAlg = logHashAlg
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            ignoredKeyrings = try c.decode([String].self, forKey: .ignoredKeyrings)
            logHashAlg = try c.decode(String.self, forKey: .logHashAlg)
            dmPolicyPresent = c.contains(.dmPolicy)
            dmPolicyIsNull = dmPolicyPresent == true ? try c.decodeNil(forKey: .dmPolicy) : nil
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(ignoredKeyrings, forKey: .ignoredKeyrings)
            try c.encode(logHashAlg, forKey: .logHashAlg)
            try c.encodeNil(forKey: .dmPolicy)
        }
    }

    var meta: Meta
    var release: Int?
    var digests: [String: [String]]
    var excludes: [String]
    var keyrings: [String: [String]]
    var ima: IMA
    var imaBuf: [String: [String]]
    var verificationKeys: String
    var rules: String?

    enum CodingKeys: String, CodingKey {
        case meta, release, digests, excludes, keyrings, ima, rules
        case imaBuf = "ima-buf"
        case verificationKeys = "verification-keys"
        case payload
    }

    init(_ policy: KeylimeRuntimePolicy) {
        meta = Meta(version: policy.version, generator: policy.generator, timestamp: policy.timestamp)
        release = policy.release
        digests = policy.digests
        excludes = policy.excludes
        keyrings = policy.keyrings
        ima = IMA(ignoredKeyrings: policy.ignoredKeyrings, logHashAlg: policy.logHashAlgorithm.name)
        imaBuf = policy.buffers
        verificationKeys = policy.verificationKeys
        rules = policy.rules
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if c.contains(.payload) && !c.contains(.meta) {
            throw ReferenceError(code: .invalidField, field: "payload",
                                 reason: "a DSSE-signed policy: verify the envelope and import its payload")
        }
        meta = try c.decode(Meta.self, forKey: .meta)
        release = try c.decodeIfPresent(Int.self, forKey: .release)
        digests = try c.decode([String: [String]].self, forKey: .digests)
        excludes = try c.decode([String].self, forKey: .excludes)
        keyrings = try c.decode([String: [String]].self, forKey: .keyrings)
        ima = try c.decode(IMA.self, forKey: .ima)
        imaBuf = try c.decode([String: [String]].self, forKey: .imaBuf)
        verificationKeys = try c.decode(String.self, forKey: .verificationKeys)
        rules = try c.decodeIfPresent(String.self, forKey: .rules)
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(meta, forKey: .meta)
        try c.encode(release ?? 0, forKey: .release)
        try c.encode(digests, forKey: .digests)
        try c.encode(excludes, forKey: .excludes)
        try c.encode(keyrings, forKey: .keyrings)
        try c.encode(ima, forKey: .ima)
        try c.encode(imaBuf, forKey: .imaBuf)
        try c.encode(verificationKeys, forKey: .verificationKeys)
        try c.encodeIfPresent(rules, forKey: .rules)
    }
}
