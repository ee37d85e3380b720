import TCGEventLog

extension BootReference {
    /// A chain from the files of an image build: the Authenticode SHA-256
    /// of shim, grub and the kernel (in the order PCR 4 records them), the
    /// SHA-256 of the initrd, of grub.cfg when given, and of the kernel file
    /// as grub reads it (PCR 9). Pure: the caller reads the files.
    /// Throws `AuthenticodeError` for an image that is not a valid PE/COFF file.
    public static func chain(name: String, shim: [UInt8]?, grub: [UInt8]?, kernel: [UInt8], initrd: [UInt8]?,
                             grubConfig: [UInt8]? = nil, names: (shim: String, grub: String, kernel: String) = ("shimx64.efi", "grubx64.efi", "vmlinuz"),
                             hashing: any TCGEventLogHashing) throws(AuthenticodeError) -> BootChain {
        func digest(_ bytes: [UInt8]) throws(AuthenticodeError) -> BootDigest {
            guard let d = BootDigest(try Authenticode.digest(of: bytes, hashing: hashing)) else {
                throw AuthenticodeError(.unsupportedAlgorithm, offset: 0, field: "algorithm", reason: "the sha256 hash is not 32 bytes")
            }
            return d
        }
        func fileDigest(_ bytes: [UInt8]) throws(AuthenticodeError) -> BootDigest {
            guard let d = hashing.hash(.sha256, [bytes]).flatMap(BootDigest.init) else {
                throw AuthenticodeError(.unsupportedAlgorithm, offset: 0, field: "algorithm", reason: "no sha256 hash function")
            }
            return d
        }
        var applications = [BootImage]()
        if let shim { applications.append(BootImage(name: names.shim, role: .shim, sha256: try digest(shim))) }
        if let grub { applications.append(BootImage(name: names.grub, role: .grub, sha256: try digest(grub))) }
        applications.append(BootImage(name: names.kernel, role: .kernel, sha256: try digest(kernel)))
        return BootChain(name: name, applications: applications,
                         initrds: try initrd.map { bytes throws(AuthenticodeError) in [try fileDigest(bytes)] } ?? [],
                         grubConfigs: try grubConfig.map { bytes throws(AuthenticodeError) in [try fileDigest(bytes)] },
                         kernelFiles: grub == nil ? nil : [try fileDigest(kernel)])
    }

    /// A reference with Signet's defaults (Secure Boot required, the
    /// image-prepare command-line rules) allowing `chains`.
    public static func signetDefault(chains: [BootChain]) -> BootReference {
        BootReference(chains: chains, commandLine: .signetDefault, secureBoot: SecureBootRules(required: true))
    }
}
