/// TPML_DIGEST: the list of digests TPM2_PCR_Read returns.
package enum TPMLDigest {
    /// The digests of a marshaled TPML_DIGEST (at most 8, each at most 64 bytes).
    package static func parse(_ bytes: [UInt8]) throws(TPMStructureError) -> [[UInt8]] {
        var r = TPMReader(bytes)
        let countAt = r.offset
        let count = Int(try r.u32("TPML_DIGEST.count"))
        guard count <= 8 else { throw .sizeTooLarge("TPML_DIGEST.count", offset: countAt, size: count, max: 8) }
        var out = [[UInt8]]()
        for i in 0..<count { out.append(try r.sized("TPML_DIGEST.digests[\(i)]", max: TPMSAttest.maxDigestSize)) }
        try r.finish("TPML_DIGEST")
        return out
    }
}
